import {Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag, notTheTable, type AbsentTable} from '../src/cli/base.js'
import {IORT_TABLE_PATH, lintIort} from '../src/checks/iort-lint.js'
import {exitCodeFor} from '../src/checks/outcome.js'
import {buildIortReport, renderIortReport, type IortReport} from '../src/report/iort.js'

/** What a host without the table is told. */
const ABSENT: AbsentTable = {
  signature: 'IORT',
  command: 'iort',
  why: 'this is not an Arm (ACPI) platform, the firmware describes its devices with a device tree instead of ACPI, or it has no SMMU or ITS to describe',
  suggestions: ['On Intel hosts the IOMMU table is DMAR (`vtd-check dmar`), on AMD hosts IVRS (`vtd-check ivrs`)', 'A device-tree Arm system describes its SMMU in /proc/device-tree (iommu-map properties)'],
}

export default class Iort extends BaseCommand {
  static override summary = 'Decode and lint the ACPI IORT table (Arm SMMU)'
  static override description = `Decodes every node of the Arm IO Remapping Table the way ACPICA does — ITS groups, named components, PCI root complexes, SMMUv1/v2, SMMUv3, PMCG and RMR nodes with their ID mappings (input IDs → output IDs of another node) — and lints what firmware gets wrong: header and checksum, nodes that do not fit, mappings that point at no node, overlapping mappings (the kernel's "conflicting mapping for input ID"), root-complex RIDs that reach an ITS without passing an SMMU, and RMR ranges kept mapped 1:1.

The table at ${IORT_TABLE_PATH} is readable by root only. A table saved elsewhere (acpidump -b, a capture) is read with --file.`

  static override examples = ['<%= config.bin %> iort', '<%= config.bin %> iort --file iort.dat', '<%= config.bin %> iort --file acpidump.txt --json', '<%= config.bin %> iort --root ./snapshot']

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, iommuFamily, source, table, lint[]}'),
    file: Flags.string({description: 'read the table from this file instead of the host: raw bytes (`acpidump -b`, a copy of /sys/firmware/acpi/tables/IORT), `acpidump` text, or an `iasl -d` .dsl'}),
    verbose: Flags.boolean({char: 'v', description: 'show passing lints and all evidence'}),
  }

  async run(): Promise<IortReport> {
    const {flags} = await this.parse(Iort)
    // A table from a file describes some other machine unless --root names one; the model decodes it.
    const withHost = flags.file === undefined || flags.root !== '/'
    const model = await this.loadModel({root: flags.root, iortFile: flags.file, withHost, log: false, needsHostFiles: flags.file === undefined})
    const {read, table, source} = model.iort
    if (!read.ok) this.failTableRead(read, flags.file !== undefined, ABSENT)
    if (!table) this.error(`${source} holds no IORT table`, {exit: 2})
    if (flags.file !== undefined && table.signature !== 'IORT') this.error(notTheTable(source, 'IORT'), {exit: 2})
    const lint = lintIort(table, source)
    if (!this.jsonEnabled()) this.print(renderIortReport(table, source, lint, {verbose: flags.verbose, width: this.terminalWidth()}))
    process.exitCode = exitCodeFor(lint.map((r) => r.outcome))
    return buildIortReport(table, source, lint)
  }
}
