import {Flags} from '../src/cli/oclif.js'
import {type AbsentTable, BaseCommand, jsonFlag, notTheTable} from '../src/cli/base.js'
import {IVRS_TABLE_PATH, lintIvrs} from '../src/checks/ivrs-lint.js'
import {exitCodeFor} from '../src/checks/outcome.js'
import {buildIvrsReport, renderIvrsReport, type IvrsReport} from '../src/report/ivrs.js'

/** What a host without the table is told. */
const ABSENT: AbsentTable = {
  signature: 'IVRS',
  command: 'ivrs',
  why: 'the IOMMU (AMD-Vi, "IOMMU" or "SVM"/"AMD-V" with IOMMU) is disabled in the firmware setup, or this is not an AMD platform',
  suggestions: ['Enable "IOMMU" in the firmware setup', 'On Intel hosts the IOMMU table is DMAR: `vtd-check dmar`'],
}

export default class Ivrs extends BaseCommand {
  static override summary = 'Decode and lint the ACPI IVRS table (AMD-Vi)'
  static override description = `Decodes every block of the IVRS table the way ACPICA does — IVHD types 0x10, 0x11 and 0x40 with their device entries (select, ranges, alias, extended, IOAPIC/HPET special entries, ACPI HID devices) and IVMD types 0x20-0x22 — shows which IVHD type the kernel reads, the DMA aliases the firmware declares, and lints what firmware gets wrong: checksum, lengths, a missing southbridge IOAPIC or HPET entry (the kernel's "[Firmware Bug]: No southbridge IOAPIC found"), unclosed, empty or overlapping ranges, empty IVMDs.

The table at ${IVRS_TABLE_PATH} is readable by root only. A table saved elsewhere (acpidump -b, a capture) is read with --file.`

  static override examples = ['<%= config.bin %> ivrs', '<%= config.bin %> ivrs --file ivrs.dat', '<%= config.bin %> ivrs --file acpidump.txt --json', '<%= config.bin %> ivrs --root ./snapshot']

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, iommuFamily, source, table, effectiveIvhdType, aliases, lint[]}'),
    file: Flags.string({description: 'read the table from this file instead of the host: raw bytes (`acpidump -b`, a copy of /sys/firmware/acpi/tables/IVRS), `acpidump` text, or an `iasl -d` .dsl'}),
    verbose: Flags.boolean({char: 'v', description: 'show passing lints and all evidence'}),
  }

  async run(): Promise<IvrsReport> {
    const {flags} = await this.parse(Ivrs)
    // A table from a file describes some other machine unless --root names one; the model decodes it.
    const withHost = flags.file === undefined || flags.root !== '/'
    const model = await this.loadModel({root: flags.root, ivrsFile: flags.file, withHost, log: false, needsHostFiles: flags.file === undefined})
    const {read, table, source} = model.ivrs
    if (!read.ok) this.failTableRead(read, flags.file !== undefined, ABSENT)
    if (!table) this.error(`${source} holds no IVRS table`, {exit: 2})
    if (flags.file !== undefined && table.signature !== 'IVRS') this.error(notTheTable(source, 'IVRS'), {exit: 2})
    const lint = lintIvrs(table, source)
    if (!this.jsonEnabled()) this.print(renderIvrsReport(table, source, lint, {verbose: flags.verbose, width: this.terminalWidth()}))
    process.exitCode = exitCodeFor(lint.map((r) => r.outcome))
    return buildIvrsReport(table, source, lint)
  }
}
