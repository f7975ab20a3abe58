// Runs the `vtd-check faults` pipeline (streamed read → LogParser → FaultTriage → JSON report)
// over a file and prints time and peak RSS. Takes the compiled dist directory as argument.
// usage: node bench/faults.run.mjs DIST FILE
import path from 'node:path'
import {pathToFileURL} from 'node:url'

const [dist, file] = process.argv.slice(2)
const load = (p) => import(pathToFileURL(path.join(dist, p)).href)
const {LogParser} = await load('src/decode/kernel-log/index.js')
const {FaultTriage} = await load('src/replay/fault-triage.js')
const {streamKernelLog} = await load('src/host/log-stream.js')
const {faultsToJson} = await load('src/report/faults.js')

const start = process.hrtime.bigint()
const parser = new LogParser()
const triage = new FaultTriage({source: file})
const cpu0 = process.cpuUsage()
const outcome = await streamKernelLog({root: '/'}, {file}, {block: (text, bytes) => parser.pushText(text, (r) => triage.add(r), bytes)})
for (const r of parser.end()) triage.add(r)
const report = faultsToJson(triage.finish(parser.lines), {origin: 'file', path: file, lines: parser.lines})
const seconds = Number(process.hrtime.bigint() - start) / 1e9
const cpu = process.cpuUsage(cpu0)
console.log(JSON.stringify({
  ok: outcome.ok, bytes: outcome.ok ? outcome.bytes : 0, lines: parser.lines, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6,
  faultRecords: report.summary.faultRecords, groups: report.faults.length, events: report.events.length,
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
}))
