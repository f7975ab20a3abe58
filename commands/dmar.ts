import {Flags} from '../src/cli/oclif.js'
import {type AbsentTable, BaseCommand, jsonFlag, lspciDumpFlag, notTheTable} from '../src/cli/base.js'
import {dmarLint} from '../src/checks/dmar-lint.js'
import {exitCodeFor} from '../src/checks/outcome.js'
import {describeDevice} from '../src/decode/pci-ids.js'
import {DMAR_TABLE_PATH} from '../src/model/host.js'
import {buildDmarReport, renderDmarReport, type DmarReport} from '../src/report/dmar.js'

/** What a host without the table is told. */
const ABSENT: AbsentTable = {
  signature: 'DMAR',
  command: 'dmar',
  why: 'VT-d is disabled in the firmware setup, or this is not an Intel VT-d platform',
  suggestions: ['Enable "VT-d" / "Intel Virtualization Technology for Directed I/O" in the firmware setup', 'On AMD hosts the IOMMU table is IVRS, not DMAR'],
}

export default class Dmar extends BaseCommand {
  static override summary = 'Decode and lint the ACPI DMAR table'
  static override description = `Decodes every structure of the DMAR table (DRHD, RMRR, ATSR, RHSA, ANDD, SATC, SIDP) the way ACPICA does, resolves each device scope to a PCI function of this host (or of the --root snapshot / --lspci-dump), shows which remapping unit owns each device, and lints what firmware gets wrong: checksum, lengths, zero or unaligned register bases, duplicate catch-all units, broken or page-zero RMRRs, RMRRs that block passthrough, orphan RHSAs, x2APIC opt-out, missing IOAPIC scopes, scopes to absent devices, ATS-capable devices under ports no ATSR lists.

The table at ${DMAR_TABLE_PATH} is readable by root only. A table saved elsewhere (acpidump -b, a capture) is read with --file; it is then linted on its own, without this host's PCI devices, unless --root or --lspci-dump names where they come from.`

  static override examples = [
    '<%= config.bin %> dmar',
    '<%= config.bin %> dmar --file dmar.dat',
    '<%= config.bin %> dmar --file acpidump.txt',
    '<%= config.bin %> dmar --file dmar.dat --lspci-dump lspci-xxxx.txt',
    '<%= config.bin %> dmar --root ./snapshot --json',
  ]

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, source, table, lint[], topologySource, scopes, owners, uncovered}'),
    file: Flags.string({description: 'read the table from this file instead of the host: raw bytes (`acpidump -b`, a copy of /sys/firmware/acpi/tables/DMAR), `acpidump` text, or an `iasl -d` .dsl'}),
    'lspci-dump': lspciDumpFlag,
    verbose: Flags.boolean({char: 'v', description: 'show passing lints and all evidence'}),
  }

  async run(): Promise<DmarReport> {
    const {flags} = await this.parse(Dmar)
    // A table from a file describes some other machine unless the user says where its devices are.
    const withHost = flags.file === undefined || flags.root !== '/'
    const model = await this.loadModel({root: flags.root, lspciDump: flags['lspci-dump'], dmarFile: flags.file, withHost, needsHostFiles: flags.file === undefined})
    const {read, table, scopes: resolution, source} = model.dmar
    if (!read.ok) this.failTableRead(read, flags.file !== undefined, ABSENT)
    if (!table) this.error(`${source} holds no DMAR table`, {exit: 2})
    // A file is what the user says it is: one that is not a DMAR table is a usage error, not a failed lint.
    if (flags.file !== undefined && table.signature !== 'DMAR') this.error(notTheTable(source, 'DMAR'), {exit: 2})
    const lint = dmarLint(model) ?? []
    const topology = resolution ? model.topology : undefined
    const report = buildDmarReport(table, source, lint, resolution, resolution ? model.topologySource : undefined)

    if (!this.jsonEnabled()) {
      const names = this.pciNames(this.hostFs(flags.root))
      const deviceName = (bdf: string): string | undefined => {
        const fn = topology?.devices.get(bdf)
        return fn ? describeDevice(names, fn.vendorId, fn.deviceId) : undefined
      }
      this.print(renderDmarReport(table, source, lint, {...(resolution ? {resolution} : {}), deviceName, verbose: flags.verbose, width: this.terminalWidth()}))
    }
    process.exitCode = exitCodeFor(lint.map((r) => r.outcome))
    return report
  }
}
