import {Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag} from '../src/cli/base.js'
import {lintUnits} from '../src/checks/dmar-lint.js'
import {lintFamilyUnits} from '../src/checks/units-lint-families.js'
import {exitCodeFor} from '../src/checks/outcome.js'
import {IOMMU_CLASS_DIR} from '../src/collect/units.js'
import {amdUnitJson, bareUnitJson, renderUnitsReport, unitJson, UNITS_SCHEMA_VERSION, type UnitsReport} from '../src/report/units.js'

export default class Units extends BaseCommand {
  static override summary = 'Remapping units with their registers decoded into named features (VT-d, AMD-Vi, SMMUv3)'
  static override description = `Reads each Intel remapping unit from ${IOMMU_CLASS_DIR}/dmar*/intel-iommu (world-readable), or, when DMA remapping is not active, from the kernel's "dmar%d: reg_base_addr … cap … ecap …" boot lines. Decodes CAP, ECAP and the version into named features (address widths, superpages, caching mode, posted interrupts, IR/EIM/PT/SC/QI/DT, PASID, scalable mode, first/second-stage …) and cross-checks them with each other and with the DMAR table when it is readable.

On AMD-Vi hosts it reads ${IOMMU_CLASS_DIR}/ivhd*/amd-iommu/{cap,features}: the capability header and the extended feature registers (EFR, and EFR2 where the kernel prints it; the order of the two halves changed across kernels and is told from the boot line "AMD-Vi: Extended features (0x…)"), named as the kernel names them (PreF PPR X2APIC NX GT IA GA HE PC GA_vAPIC SNP). On Arm SMMUv3 hosts the driver publishes no register files: the units and their devices are listed, with the driver's probe line.`

  static override examples = ['<%= config.bin %> units', '<%= config.bin %> units --verbose', '<%= config.bin %> units --root ./snapshot --json']

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, iommuFamily, origin, units[], lint[], table}'),
    verbose: Flags.boolean({char: 'v', description: 'print every CAP/ECAP field and passing checks'}),
  }

  async run(): Promise<UnitsReport> {
    const {flags} = await this.parse(Units)
    const model = await this.loadModel({root: flags.root, needsHostFiles: true})
    const intel = model.remappingUnits
    const others = model.host.units.filter((u) => u.vendor !== 'intel')
    const origin = intel.units.length === 0 && others.length > 0 ? 'sysfs' : intel.origin
    const units = intel.units
    if (origin === 'none' && !model.log.readable) this.warn(`no units in sysfs and the kernel log is not readable: ${model.log.message ?? ''}`)
    const {table, source} = model.dmar
    const lint = lintFamilyUnits(model) ?? lintUnits(units, table, source, origin === 'sysfs', model.iommuVendor)
    const otherJson = others.map((u) => {
      const amd = model.amdUnits.find((a) => a.name === u.name)
      return amd ? amdUnitJson(amd) : bareUnitJson(u)
    })
    const report: UnitsReport = {schemaVersion: UNITS_SCHEMA_VERSION, tool: 'vtd-check', iommuFamily: model.iommuFamily, origin, units: [...units.map(unitJson), ...otherJson], lint}
    if (table) {
      report.table = {source, drhds: table.structures.filter((s) => s.type === 'DRHD').length}
      if (table.flags) report.table.flags = table.flags.value
    }

    if (!this.jsonEnabled()) this.print(renderUnitsReport(report, units, {verbose: flags.verbose, width: this.terminalWidth()}))
    process.exitCode = exitCodeFor(lint.map((r) => r.outcome))
    return report
  }
}
