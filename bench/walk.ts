/**
 * Walk throughput on a warm in-memory model (issue 8: ≥ 5 million walks/s).
 *
 *   npx tsc -p bench/tsconfig.json && node node_modules/.cache/vtd-bench/bench/walk.js
 *
 * Builds a legacy 4-level (48-bit) unit with 64 devices, each with 512 mapped 4-KiB pages
 * placed the way Linux's IOVA allocator places them (top-down below 4 GiB), then replays a fixed pseudo-random request stream through
 * `translateRaw` (no step recording) and through `walk` (every step decoded). As a yardstick
 * measured in the same run, the same number of lookups in a plain Map<number, number> —
 * the ratio says how many Map lookups one walk costs. Not a test: numbers vary by machine.
 */
import {TableBuilder} from '../src/replay/translation/build.js'
import {unitCapsFromRegisters} from '../src/replay/translation/caps.js'
import {walk} from '../src/replay/translation/replay.js'
import {RawOutcome, STATUS, translateRaw} from '../src/replay/translation/walk.js'

// QEMU's cap with SAGAW 48-bit (bit 10) and MGAW 48; ecap with PT.
const caps = unitCapsFromRegisters(0xd2008c2f260406n | (0x2fn << 16n), 0xf00f4an, 48)
const builder = new TableBuilder(caps, false)
const DEVICES = 64
const PAGES = 512
let seed = 12345
const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
const sids: number[] = []
const iovas: number[] = []
for (let d = 0; d < DEVICES; d++) {
  const sid = ((d >> 3) + 1) * 256 + (d & 7) * 8
  const domain = builder.newDomain(d + 2, 'second', 2)
  builder.attach(sid, domain)
  for (let p = 0; p < PAGES; p++) {
    // Linux's IOVA allocator hands out addresses top-down below the interrupt window first: dense tables.
    const iova = 0xfedf_f000 - p * 4096 - Math.floor(random() * 4) * 0x100_0000
    builder.map(domain, {iova: BigInt(iova), hpa: BigInt(0x1_0000_0000 + (d * PAGES + p) * 4096), size: 0x1000n})
    sids.push(sid)
    iovas.push(iova)
  }
}
const unit = builder.unit('dmar0', 'json')

const N = 1 << 20
const reqSid = new Int32Array(N)
const reqHi = new Uint32Array(N)
const reqLo = new Uint32Array(N)
for (let i = 0; i < N; i++) {
  const k = Math.floor(random() * sids.length)
  const iova = (iovas[k] ?? 0) + Math.floor(random() * 4096)
  reqSid[i] = sids[k] ?? 0
  reqHi[i] = Math.floor(iova / 2 ** 32)
  reqLo[i] = iova >>> 0
}

/**
 * Rate per second of wall time and per second of this process's CPU time: on a shared,
 * loaded machine the CPU-time rate is the one that says what the code can do.
 */
function timeIt(label: string, rounds: number, body: () => number): {wall: number; cpu: number} {
  body() // warm up
  const start = process.hrtime.bigint()
  const cpuStart = process.cpuUsage()
  let check = 0
  for (let r = 0; r < rounds; r++) check += body()
  const cpu = process.cpuUsage(cpuStart)
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  const wall = (rounds * N) / seconds
  const perCpu = (rounds * N) / cpuSeconds
  console.log(`${label.padEnd(34)} ${(wall / 1e6).toFixed(2).padStart(8)} M/s wall  ${(perCpu / 1e6).toFixed(2).padStart(8)} M/s cpu   (checksum ${check})`)
  return {wall, cpu: perCpu}
}

const out = new RawOutcome()
const walks = timeIt('translateRaw (no steps)', 5, () => {
  let ok = 0
  for (let i = 0; i < N; i++) if (translateRaw(unit, reqSid[i] ?? 0, reqHi[i] ?? 0, reqLo[i] ?? 0, 0, -1, out, null).status === STATUS.translated) ok++
  return ok
})

const map = new Map<number, number>()
for (let i = 0; i < 64 * 1024; i++) map.set(i * 7919, i)
const lookups = timeIt('reference: Map<number,number>.get', 5, () => {
  let sum = 0
  for (let i = 0; i < N; i++) sum += map.get(((reqLo[i] ?? 0) & 0xffff) * 7919) ?? 0
  return sum & 0xffff
})

const slowN = 1 << 14
const start = process.hrtime.bigint()
let okSlow = 0
for (let i = 0; i < slowN; i++) {
  const r = walk(unit, {requester: reqSid[i] ?? 0, address: (BigInt(reqHi[i] ?? 0) << 32n) | BigInt(reqLo[i] ?? 0)})
  if (r.ok) okSlow++
}
const slowPerSecond = slowN / (Number(process.hrtime.bigint() - start) / 1e9)
console.log(`${'walk() with decoded steps'.padEnd(34)} ${(slowPerSecond / 1e6).toFixed(2).padStart(8)} M/s   (translated ${okSlow}/${slowN})`)

console.log(`\nmodel: ${DEVICES} devices × ${PAGES} pages, 4-level tables, ${builder.memory.pages.size} table pages`)
console.log(`walks/s: ${Math.round(walks.wall)} wall, ${Math.round(walks.cpu)} per CPU-second  (target ≥ 5,000,000: ${walks.cpu >= 5e6 ? 'met' : 'NOT met'})`)
console.log(`one walk costs ${(lookups.cpu / walks.cpu).toFixed(2)} Map lookups (same run, CPU time)`)
