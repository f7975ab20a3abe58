import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base.js'
import {DMAR_TABLE_PATH, decodeUnit, lintUnits, type DecodedUnit, type UnitInput} from '../src/checks/dmar-lint.js'
import {exitCodeFor} from '../src/checks/outcome.js'
import type {Miss} from '../src/collect/types.js'
import {collectUnits, IOMMU_CLASS_DIR} from '../src/collect/units.js'
import {decodeDmar, type DmarTable} from '../src/decode/dmar.js'
import {unitsFromLog} from '../src/decode/vtd-registers.js'
import {readKernelLog} from '../src/host/kernel-log.js'
import {renderUnitsReport, unitJson, UNITS_SCHEMA_VERSION, type UnitsReport} from '../src/report/units.js'

export default class Units extends BaseCommand {
  static override summary = 'Remapping units with CAP/ECAP decoded into named features'
  static override description = `Reads each Intel remapping unit from ${IOMMU_CLASS_DIR}/dmar*/intel-iommu (world-readable), or, when DMA remapping is not active, from the kernel's "dmar%d: reg_base_addr … cap … ecap …" boot lines. Decodes CAP, ECAP and the version into named features (address widths, superpages, caching mode, posted interrupts, IR/EIM/PT/SC/QI/DT, PASID, scalable mode, first/second-stage …) and cross-checks them with each other and with the DMAR table when it is readable.`

  static override examples = ['<%= config.bin %> units', '<%= config.bin %> units --verbose', '<%= config.bin %> units --root ./snapshot --json']

  static override flags = {
    verbose: Flags.boolean({char: 'v', description: 'print every CAP/ECAP field and passing checks'}),
  }

  async run(): Promise<UnitsReport> {
    const {flags} = await this.parse(Units)
    const fs = this.hostFs(flags.root)
    const misses: Miss[] = []
    let origin: UnitsReport['origin'] = 'sysfs'
    let inputs: UnitInput[] = collectUnits(fs, misses)
      .filter((u) => u.vendor === 'intel')
      .map((u) => ({
        name: u.name,
        source: `${IOMMU_CLASS_DIR}/${u.name}/intel-iommu`,
        ...(u.address !== undefined ? {registerBase: u.address} : {}),
        ...(u.version !== undefined ? {version: u.version} : {}),
        ...(u.cap !== undefined ? {cap: u.cap} : {}),
        ...(u.ecap !== undefined ? {ecap: u.ecap} : {}),
      }))
    if (inputs.length === 0) {
      // Remapping off (or another vendor): the boot lines still name every unit's registers.
      const log = await readKernelLog(fs)
      const logged = log.ok ? unitsFromLog(log.value) : []
      inputs = logged.map((u) => ({name: u.name, registerBase: u.registerBase, version: u.version, cap: u.cap, ecap: u.ecap, source: `kernel log (${log.path})`}))
      origin = logged.length > 0 ? 'kernel log' : 'none'
      if (!log.ok && logged.length === 0) this.warn(`no units in sysfs and the kernel log is not readable: ${log.message}`)
    }
    const units: DecodedUnit[] = inputs.map(decodeUnit)

    const tableRead = fs.readBytes(DMAR_TABLE_PATH)
    const table: DmarTable | undefined = tableRead.ok ? decodeDmar(tableRead.value) : undefined
    const lint = lintUnits(units, table, DMAR_TABLE_PATH, origin === 'sysfs')
    const report: UnitsReport = {schemaVersion: UNITS_SCHEMA_VERSION, tool: 'vtd-check', origin, units: units.map(unitJson), lint}
    if (table) {
      report.table = {source: DMAR_TABLE_PATH, drhds: table.structures.filter((s) => s.type === 'DRHD').length}
      if (table.flags) report.table.flags = table.flags.value
    }

    if (!this.jsonEnabled()) process.stdout.write(renderUnitsReport(report, units, {verbose: flags.verbose, width: process.stdout.columns}))
    process.exitCode = exitCodeFor(lint.map((r) => r.outcome))
    return report
  }
}
