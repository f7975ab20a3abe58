import {writeFileSync} from 'node:fs'
import {Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag} from '../src/cli/base.js'
import type {OverallVerdict} from '../src/checks/catalogue.js'
import {EXIT} from '../src/checks/outcome.js'
import {hostReport} from '../src/report/host-report.js'
import {renderHtmlReport} from '../src/report/html-report.js'

/** `report --json`: where the page went and what it says in brief. */
export interface ReportJson {
  schemaVersion: 1
  tool: 'vtd-check'
  file: string
  verdict: OverallVerdict
  devices: number
  groups: number
  faultGroups: number
}

export default class Report extends BaseCommand {
  static override summary = 'Write one self-contained HTML page: verdict, PCI tree coloured by IOMMU group with ACS per hop, checks and fault groups'
  static override description = `The page needs no network (inline styles, no scripts, no fonts or images from elsewhere), so it can be attached to a ticket or opened on an air-gapped machine. The exit code is the check verdict's.`
  static override examples = ['sudo <%= config.bin %> report --html vtd-report.html', '<%= config.bin %> report --root ./snap-myhost --html snap.html']

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, file, verdict, devices, groups, faultGroups}'),
    html: Flags.string({description: 'write the HTML report to this file ("-" for stdout)', required: true}),
  }

  async run(): Promise<ReportJson> {
    const {flags} = await this.parse(Report)
    if (flags.html === '-' && this.jsonEnabled()) this.error('--html - writes the page to stdout, where --json would also go: give a file', {exit: EXIT.usage})
    const model = await this.loadModel({root: flags.root, needsHostFiles: true})
    const report = hostReport(model, this.pciNames(this.hostFs(flags.root)))
    const page = renderHtmlReport({...report, generated: new Date().toISOString(), version: this.config.version})
    if (flags.html === '-') this.print(page)
    else {
      try {
        writeFileSync(flags.html, page)
      } catch (error) {
        this.error(`cannot write ${flags.html}: ${(error as Error).message}`, {exit: EXIT.usage})
      }
    }
    const written: ReportJson = {
      schemaVersion: 1,
      tool: 'vtd-check',
      file: flags.html,
      verdict: report.check.verdict,
      devices: report.picture.nodes.length,
      groups: report.picture.groups.length,
      faultGroups: report.faults.faults.length,
    }
    if (flags.html !== '-' && !this.jsonEnabled()) this.printLine(`${flags.html}: ${written.verdict.headline} · ${written.devices} devices in ${written.groups} groups · ${written.faultGroups} fault groups`)
    process.exitCode = report.check.verdict.exitCode
    return written
  }
}
