/**
 * Whether this boot's kernel asked the PCI core to enable ACS — `pci_request_acs()` before PCI
 * enumeration (drivers/pci/pci.c) — and, if not, why. Only after that request does
 * `pci_enable_acs()` set SV, RR, CR and UF (as far as the port implements them) on every
 * ACS-capable port; without it ACS Control stays as the firmware left it (usually all off). A port
 * that implements SV RR CR UF with those control bits off then HAS them: the kernel did not enable
 * them. Saying it "lacks" them would send the user shopping for another slot.
 *
 * Who requests it, and what stops them:
 *  - VT-d: detect_intel_iommu() (drivers/iommu/intel/dmar.c), only `if (!no_iommu && … &&
 *    (!dmar_disabled || dmar_platform_optin()))`: `intel_iommu=off` stops it unless the DMAR
 *    table sets the DMA-control platform opt-in flag; `iommu=off` (no_iommu) always does.
 *  - AMD-Vi: detect_ivrs() (drivers/iommu/amd/init.c) whenever the IVRS table exists — even
 *    with `amd_iommu=off` (lab-amd-vi-off: its ports read SV RR CR UF on; a 2025 patch to change
 *    that is not merged) — but not after `iommu=off`, which amd_iommu_detect() checks first.
 *  - Arm with ACPI: the IORT code, before enumeration (iort_init_platform_devices).
 *  - Arm with a device tree: of_iommu_configure() (drivers/iommu/of_iommu.c), when a driver first
 *    probes a device, after pci_enable_acs() already ran for every enumerated device without the
 *    request — the IOMMU is on, yet no port's ACS is enabled (lab-smmuv3-dt: Debian's 6.1).
 *
 * Mainline has no `pci=noacs`: pci_setup() answers it with "PCI: Unknown option `noacs'".
 * `pci=config_acs=` / `pci=disable_acs_redir=` change single ports even without the request; the
 * grouping replay states those per port (replay/acs-params.ts).
 */
import type {IommuFamily} from './host.js'
import type {KernelParameters} from './kernel-parameters.js'

/** Why the kernel never requested ACS. `iommuOn`: the IOMMU translates all the same (device tree), so the kernel's groups follow ACS Control as read. */
export interface AcsNotRequested {
  because: string
  iommuOn: boolean
}

export interface AcsRequestFacts {
  family: IommuFamily
  cmdline: KernelParameters | undefined
  /** Booted without ACPI (acpi=off, "ACPI: Interpreter disabled"): the SMMU comes from a device tree. */
  acpiOff: boolean
  /** An ACPI IORT table was read. */
  iort: boolean
  /** The DMAR table's DMA-control platform opt-in flag (dmar_platform_optin()), when the table was read. */
  dmarPlatformOptIn: boolean | undefined
  /** IOMMU units are registered (the driver started, and on x86 requested ACS first). */
  unitsRegistered: boolean
}

/** Why this boot's kernel did not request ACS, or undefined when it did or the model cannot tell. */
export function acsNotRequested(facts: AcsRequestFacts): AcsNotRequested | undefined {
  const {family, cmdline} = facts
  if (family === 'arm-smmu-v3' && !facts.iort && facts.acpiOff) {
    return {because: 'the SMMU comes from the device tree (no ACPI, no IORT), whose of_iommu_configure() requests ACS only after the PCI devices were enumerated', iommuOn: true}
  }
  if (facts.unitsRegistered) return undefined
  const off = (because: string): AcsNotRequested => ({because, iommuOn: false})
  if (cmdline?.iommuOff && (family === 'intel-vtd' || family === 'amd-vi')) return off('iommu=off: no IOMMU driver requested ACS (pci_request_acs())')
  if (family === 'intel-vtd' && cmdline?.intelIommu.enabled === false && facts.dmarPlatformOptIn !== true) {
    return off('intel_iommu=off: the VT-d driver did not request ACS (pci_request_acs())')
  }
  if (family === 'none') return off('no IOMMU driver requested ACS (no DMAR, IVRS or IORT table)')
  return undefined
}
