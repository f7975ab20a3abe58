// Builds a ≥ 1 GiB kernel log from real lines only: every excerpt in test/fixtures/real/dmesg and
// every lab snapshot's dmesg.txt (real Debian 6.1 boots under QEMU with injected DMA faults),
// concatenated and repeated. Lines are copied verbatim; nothing is synthesised.
// With --storm only the fault lines are kept (DMA and interrupt-remapping fault records, both the
// one-line and the older two-line formats): a fault storm, every line a fault line.
// usage: node bench/faults.build-log.mjs [--storm] OUT [bytes]
import {readFileSync, readdirSync, existsSync, openSync, writeSync, closeSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const storm = args[0] === '--storm'
if (storm) args.shift()
const out = args[0]
const target = Number(args[1] ?? 1024 ** 3)
if (!out) throw new Error('usage: node bench/faults.build-log.mjs [--storm] OUT [bytes]')
const FAULT_LINE = /DMAR: ?\[(?:DMA|INTR)|Request device \[|\[fault reason/

const sources = []
const dmesgDir = path.join(repoRoot, 'test/fixtures/real/dmesg')
for (const f of readdirSync(dmesgDir).filter((f) => f.endsWith('.log')).sort()) sources.push(path.join(dmesgDir, f))
const fixtures = path.join(repoRoot, 'sysfs-fixtures')
for (const d of readdirSync(fixtures).sort()) {
  const p = path.join(fixtures, d, 'dmesg.txt')
  if (existsSync(p)) sources.push(p)
}
const corpus = Buffer.concat(sources.map((p) => {
  const b = readFileSync(p)
  const whole = b.length > 0 && b[b.length - 1] !== 0x0a ? Buffer.concat([b, Buffer.from('\n')]) : b
  if (!storm) return whole
  const kept = whole.toString('latin1').split('\n').filter((l) => FAULT_LINE.test(l))
  return Buffer.from(kept.map((l) => l + '\n').join(''), 'latin1')
}))
// 8 MiB blocks of whole corpus copies, so every line stays intact.
const copies = Math.max(1, Math.floor((8 << 20) / corpus.length))
const block = Buffer.concat(Array.from({length: copies}, () => corpus))
const fd = openSync(out, 'w')
let written = 0
while (written < target) written += writeSync(fd, block)
closeSync(fd)
const lines = corpus.toString('latin1').split('\n').length - 1
const dmar = corpus.toString('latin1').split('\n').filter((l) => l.includes('DMAR')).length
console.log(JSON.stringify({file: out, storm, bytes: written, sources: sources.length, corpusBytes: corpus.length, corpusLines: lines, corpusDmarLines: dmar}))
