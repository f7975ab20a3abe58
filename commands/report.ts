import {writeFileSync} from 'node:fs'
import {Flags} from '../src/cli/oclif.js'
import {BaseCommand} from '../src/cli/base.js'
import {EXIT} from '../src/checks/outcome.js'
import {hostReport} from '../src/report/host-report.js'
import {renderHtmlReport} from '../src/report/html-report.js'

export default class Report extends BaseCommand {
  static override summary = 'Write one self-contained HTML page: verdict, PCI tree coloured by IOMMU group with ACS per hop, checks and fault groups'
  static override description = `The page needs no network (inline styles, no scripts, no fonts or images from elsewhere), so it can be attached to a ticket or opened on an air-gapped machine. The exit code is the check verdict's.`
  static override examples = ['sudo <%= config.bin %> report --html vtd-report.html', '<%= config.bin %> report --root ./snap-myhost --html snap.html']

  static override flags = {
    html: Flags.string({description: 'write the HTML report to this file ("-" for stdout)', required: true}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Report)
    const model = await this.loadModel({root: flags.root})
    const report = hostReport(model, this.pciNames(this.hostFs(flags.root)))
    const page = renderHtmlReport({...report, generated: new Date().toISOString(), version: this.config.version})
    if (flags.html === '-') this.print(page)
    else {
      try {
        writeFileSync(flags.html, page)
      } catch (error) {
        this.error(`cannot write ${flags.html}: ${(error as Error).message}`, {exit: EXIT.usage})
      }
      this.printLine(`${flags.html}: ${report.check.verdict.headline} · ${report.picture.nodes.length} devices in ${report.picture.groups.length} groups · ${report.faults.faults.length} fault groups`)
    }
    process.exitCode = report.check.verdict.exitCode
  }
}
