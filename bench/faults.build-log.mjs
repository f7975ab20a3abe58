// Builds a ≥ 1 GiB kernel log from real lines only: every excerpt in test/fixtures/real/dmesg and
// every lab snapshot's dmesg.txt (real Debian 6.1 boots under QEMU with injected DMA faults),
// concatenated and repeated. Lines are copied verbatim; nothing is synthesised.
// usage: node bench/faults.build-log.mjs OUT [bytes]
import {readFileSync, readdirSync, existsSync, openSync, writeSync, closeSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const out = process.argv[2]
const target = Number(process.argv[3] ?? 1024 ** 3)
if (!out) throw new Error('usage: node bench/faults.build-log.mjs OUT [bytes]')

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
  return b.length > 0 && b[b.length - 1] !== 0x0a ? Buffer.concat([b, Buffer.from('\n')]) : b
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
console.log(JSON.stringify({file: out, bytes: written, sources: sources.length, corpusBytes: corpus.length, corpusLines: lines, corpusDmarLines: dmar}))
