// Renders the README's speed tables from `node bench/speed.mjs --json FILE` output: one row per
// goal (largest host size only) and the host commands' curve over every size measured.
// usage: node bench/speed-table.mjs FILE
import {readFileSync} from 'node:fs'

const {rows, runs, node} = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const sizes = [...new Set(rows.filter((r) => r.functions).map((r) => r.functions))].sort((a, b) => a - b)
const goalSize = sizes.includes(2062) ? 2062 : sizes.at(-1)
const split = (r) => r.name.split('  vs  ')
const s = (x) => `${x.toFixed(3)} s`

console.log(`Medians of ${runs} interleaved rounds, CPU time (user + sys) of the child, Node ${node}; \`node bench/speed.mjs\`.\n`)
console.log('| work | vtd-check | yardstick, same run | ratio | goal | peak RSS |\n|---|---|---|---|---|---|')
for (const r of rows.filter((r) => !r.functions || r.functions === goalSize)) {
  const [what, against] = split(r)
  const rss = `${r.oursRssMiB.toFixed(0)} MiB${r.rssGoalMiB ? ` (goal < ${r.rssGoalMiB})` : ''}`
  console.log(`| ${what} | ${s(r.ours)} | \`${against}\` ${s(r.yardstick)} | ${r.ratio.toFixed(2)}× | ≤ ${r.goal}× ${r.met ? 'met' : 'not met'} | ${rss} |`)
}
if (sizes.length > 1) {
  const commands = [...new Set(rows.filter((r) => r.functions).map((r) => split(r)[0].replace(/, \d+ functions$/, '')))]
  console.log(`\nCPU time and ratio to \`lspci -vvv\` on the same generated host (\`bench/large-host.mjs\`), by PCI functions:\n`)
  console.log(`| command | ${sizes.map((n) => `${n.toLocaleString('en-US')} functions`).join(' | ')} |\n|---|${sizes.map(() => '---').join('|')}|`)
  const lspci = sizes.map((n) => rows.find((r) => r.functions === n).yardstick)
  console.log(`| \`lspci -vvv\` | ${lspci.map(s).join(' | ')} |`)
  for (const c of commands) {
    const cells = sizes.map((n) => rows.find((r) => r.functions === n && split(r)[0].startsWith(`${c},`)))
    console.log(`| \`${c}\` | ${cells.map((r) => (r ? `${s(r.ours)} (${r.ratio.toFixed(1)}×)` : '—')).join(' | ')} |`)
  }
}
