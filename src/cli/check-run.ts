/**
 * What `vtd-check check` does once its flags are parsed, shared by the oclif command
 * (commands/check.ts) and the start without oclif (host-direct.ts).
 */
import {assessHost} from '../checks/assess.js'
import {normaliseBdf} from '../decode/pci-address.js'
import {hostFacts} from '../compare/facts.js'
import {snapshotName} from '../host/snapshot.js'
import {buildCheckReport, renderCheckReport, type CheckReport} from '../report/check.js'
import {renderNfd} from '../report/nfd.js'
import {renderPrometheus} from '../report/prometheus.js'
import {loadHostModel, type CommandDriver} from './host-model.js'

/** The command's flags as oclif's parse gives them (defaults applied). */
export interface CheckFlags {
  root: string
  device?: string[] | undefined
  verbose?: boolean | undefined
  all?: boolean | undefined
  format: 'text' | 'prometheus' | 'nfd'
  'nfd-expiry'?: number | undefined
}

export async function runCheck(flags: CheckFlags, driver: CommandDriver): Promise<CheckReport | undefined> {
  const devices: string[] = []
  for (const text of flags.device ?? []) {
    const bdf = normaliseBdf(text)
    if (!bdf) driver.error(`"${text}" is not a PCI address`, {exit: 2, suggestions: ['use the form 0000:01:00.0 (domain:bus:device.function) or 01:00.0']})
    devices.push(bdf)
  }
  if (flags['nfd-expiry'] !== undefined && flags.format !== 'nfd') driver.error('--nfd-expiry applies to --format nfd only', {exit: 2})
  const model = await loadHostModel({root: flags.root, needsHostFiles: true}, driver)
  if (flags.format !== 'text') {
    if (devices.length > 0) driver.error(`--format ${flags.format} describes the whole host; --device adds a passthrough plan only to the text and JSON report`, {exit: 2})
    const facts = hostFacts(model, snapshotName(flags.root))
    const expiry = flags['nfd-expiry'] === undefined ? {} : {expiresAt: new Date(Date.now() + flags['nfd-expiry'] * 1000)}
    driver.print(flags.format === 'prometheus' ? renderPrometheus(facts, driver.version()) : renderNfd(facts, driver.version(), expiry))
    process.exitCode = facts.verdict.exitCode
    return undefined
  }
  const missing = devices.filter((bdf) => !model.devices.has(bdf))
  if (missing.length > 0)
    driver.error(`no PCI device ${missing.join(', ')} on ${flags.root === '/' ? 'this host' : flags.root}`, {exit: 2, suggestions: model.host.pci.slice(0, 8).map((d) => `vtd-check check --device ${d.bdf}`)})
  const report = buildCheckReport(assessHost(model, {devices}))
  if (!driver.json) driver.print(renderCheckReport(report, {width: driver.terminalWidth(), verbose: flags.verbose, hideNotApplicable: !flags.all}) + '\n')
  process.exitCode = report.verdict.exitCode
  return report
}
