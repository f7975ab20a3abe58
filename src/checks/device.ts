/**
 * Device readiness: one result per device named with --device (or, without it, per device
 * already bound to vfio-pci). Each answers "what stops THIS device going to a VM".
 */
import {kernelAtLeast, type AssessmentContext} from './context.js'
import {ROLE_WORDS} from '../collect/host-roles.js'
import {acsNotEnabledByKernel, acsOverrideState, rmrrRefusalText, RMRR_FIX} from './isolation.js'
import {endpointSlots, resetPlan} from '../model/topology.js'
import type {Evidence} from './outcome.js'
import {rootAdvice, vfioBindCommands} from './remediation.js'
import {DOCS, PATHS, classBase, describeDevice, groupMembers, isBridge, isHostBridge, iommuActive, plural, reservedRegions} from './shared.js'
import {ev, verdict, type DeviceCheck, type Verdict} from './types.js'

const GOOD_RESETS = new Set(['flr', 'af_flr', 'device_specific', 'acpi', 'cxl_bus'])
/** Drivers a VFIO group tolerates besides vfio-pci (vtd-reference §10.5). */
const VFIO_OK_DRIVERS = new Set(['vfio-pci', 'pci-stub'])

function isVfioDriver(driver: string | undefined): boolean {
  return driver !== undefined && (VFIO_OK_DRIVERS.has(driver) || driver.startsWith('vfio'))
}

const reset: DeviceCheck = {
  id: 'device.reset',
  title: 'Reset method (FLR vs bus/PM reset)',
  category: 'device',
  scope: 'device',
  reads: [`${PATHS.pci}/BDF/reset_method`, `${PATHS.pci}/BDF/config`],
  docs: DOCS.sysfsPci,
  assess(ctx, bdf): Verdict {
    const device = ctx.devices.get(bdf)
    if (!device) return verdict('unknown', `${bdf} not found`)
    const source = `${PATHS.pci}/${bdf}/reset_method`
    const caps = ctx.caps.get(bdf)
    const methods = device.resetMethod.ok ? device.resetMethod.value : undefined
    const evidence: Evidence[] = []
    if (methods) evidence.push(ev(methods.length > 0 ? `reset_method: ${methods.join(' ')}` : 'reset_method is empty', source))
    if (caps && caps.flr !== 'unknown') evidence.push(ev(caps.flr ? 'FLR capable (PCIe DEVCAP or AF)' : 'no FLR capability in config space', `${PATHS.pci}/${bdf}/config`))
    const fn = ctx.topology.devices.get(bdf)
    // The one reading of the reset methods (`vtd-check device` shows the same plan and sentence).
    const plan = fn ? resetPlan(ctx.topology, fn) : undefined
    if (plan?.functionLevel !== undefined && GOOD_RESETS.has(plan.functionLevel)) return verdict('pass', plan.summary, evidence)
    // Since 5.15 the kernel hides reset_method when the device has no reset at all (the model reads that as "none").
    if (!device.resetMethod.ok && device.resetMethod.reason === 'absent' && kernelAtLeast(ctx.kernel, 5, 15) === true)
      evidence.push(ev(`reset_method absent on kernel ${ctx.kernel?.release ?? '?'}: the kernel knows no reset for this device`, source))
    if (!plan || plan.methods === 'unknown')
      return verdict('unknown', 'could not tell the reset capability (reset_method needs kernel ≥ 5.15; config space beyond 64 bytes needs root)', evidence, [rootAdvice(ctx.host)])
    if (plan.note) evidence.push(ev(plan.note, source))
    if (plan.methods.length === 0) return verdict('warn', plan.summary, evidence, ['pick another device, or reboot the host between guests'])
    const bus = plan.methods.includes('bus') ? plan.busReset : undefined
    if (bus) {
      const siblings = bus.alsoResets
      if (siblings.length === 0) return verdict('pass', plan.summary, [...evidence, ev(`nothing else below ${bus.bridge}`, PATHS.pci)])
      evidence.push(ev(`a bus reset also resets: ${siblings.map((s) => describeDevice(ctx, s)).join('; ')}`, PATHS.pci))
      const group = new Set(groupMembers(ctx, bdf))
      if (siblings.every((s) => group.has(s))) return verdict('pass', `${plan.summary}: all of its own IOMMU group, which goes to the VM with it`, evidence)
      return verdict('warn', `${plan.summary} (all must go to the VM together)`, evidence, ['prefer a device with FLR; with a bus reset, pass every function below the bridge to the same VM'])
    }
    return verdict('warn', plan.summary, evidence, plan.functionLevel === 'pm' ? ['check the vendor reset quirk (e.g. vendor-reset module for AMD GPUs)'] : [])
  },
}

/** Copy-pasteable commands binding `bdfs` to vfio-pci until reboot (safe to run twice). */
export function bindCommandsFor(ctx: AssessmentContext, bdfs: string[]): string[] {
  return vfioBindCommands(bdfs.map((bdf) => ({bdf, driver: ctx.devices.get(bdf)?.driver})))
}

/** The endpoints that must be bound to vfio-pci with the device: all its group's non-bridge members. */
export function groupEndpoints(ctx: AssessmentContext, bdf: string): string[] {
  return groupMembers(ctx, bdf).filter((m) => {
    const d = ctx.devices.get(m)
    return d !== undefined && !isBridge(d) && !isHostBridge(d)
  })
}

const driver: DeviceCheck = {
  id: 'device.driver',
  title: 'Driver binding (vfio-pci, or what holds the group)',
  category: 'device',
  scope: 'device',
  reads: [`${PATHS.pci}/BDF/driver`, `${PATHS.groups}/N/devices`],
  docs: DOCS.vfio,
  assess(ctx, bdf) {
    const device = ctx.devices.get(bdf)
    if (!device) return verdict('unknown', `${bdf} not found`)
    const grouped = groupEndpoints(ctx, bdf)
    const members = grouped.length > 0 ? grouped : [bdf]
    const holders = members.filter((m) => !isVfioDriver(ctx.devices.get(m)?.driver) && ctx.devices.get(m)?.driver !== undefined)
    const evidence = members.map((m) => ev(describeDevice(ctx, m), `${PATHS.pci}/${m}/driver`))
    if (holders.length === 0)
      return verdict('pass', isVfioDriver(device.driver) ? `bound to ${device.driver}; the group is viable for VFIO` : 'unbound; no host driver holds the group (bind it to vfio-pci to use it)', evidence)
    if (!ctx.groupOf.has(bdf))
      return verdict('warn', `bound to the host driver ${device.driver} (and in no IOMMU group: see device.isolation)`, evidence, bindCommandsFor(ctx, holders))
    return verdict(
      'warn',
      `host drivers still hold the group: ${holders.map((h) => `${h} (${ctx.devices.get(h)?.driver})`).join(', ')} — VFIO reports "group is not viable" until they are rebound`,
      evidence,
      bindCommandsFor(ctx, holders),
    )
  },
}

const hostCritical: DeviceCheck = {
  id: 'device.host-critical',
  title: 'Host-critical devices in the group (boot disk, default-route NIC, console GPU)',
  category: 'device',
  scope: 'device',
  reads: ['/proc/mounts', '/sys/class/block', '/proc/net/route', '/sys/class/net', `${PATHS.pci}/*/boot_vga`],
  docs: DOCS.vfio,
  assess(ctx, bdf) {
    const members = new Set(groupMembers(ctx, bdf).length > 0 ? groupMembers(ctx, bdf) : [bdf])
    const hits = ctx.roles.devices.filter((r) => members.has(r.bdf))
    const evidence = hits.map((h) => ev(`${describeDevice(ctx, h.bdf)} is ${ROLE_WORDS[h.role]} (${h.via})`))
    for (const miss of ctx.roles.unresolved) evidence.push(ev(`${ROLE_WORDS[miss.role]}: ${miss.why}`))
    const fatal = hits.filter((h) => h.role !== 'console-gpu')
    if (fatal.length > 0)
      return verdict(
        'fail',
        `passing ${bdf} through takes ${fatal.map((h) => ROLE_WORDS[h.role]).join(' and ')} from the host`,
        evidence,
        ['do not pass this group; move the host disk/NIC to a device in another group, or the card to another slot'],
      )
    if (hits.length > 0)
      return verdict('warn', 'the group holds the firmware console GPU: the host loses its console (single-GPU passthrough)', evidence, [
        'make another GPU the primary display in the firmware setup, or plan for a headless host (serial console / SSH)',
      ])
    const blind = ctx.roles.unresolved.filter((u) => u.missingData)
    if (blind.length > 0)
      return verdict('unknown', `could not tell whether the group holds ${blind.map((u) => ROLE_WORDS[u.role]).join(' or ')}`, evidence, [
        'capture /sys/class/block and /sys/class/net links with the snapshot, or run on the host',
      ])
    return verdict('pass', 'no host-critical device in the group', evidence.length > 0 ? evidence : [ev(`checked ${plural(members.size, 'group member')}`)])
  },
}

const isolation: DeviceCheck = {
  id: 'device.isolation',
  title: 'Device isolation (its IOMMU group)',
  category: 'device',
  scope: 'device',
  reads: [`${PATHS.pci}/BDF/iommu_group`, `${PATHS.groups}/N/devices`, PATHS.cmdline],
  docs: DOCS.vfio,
  assess(ctx, bdf) {
    const device = ctx.devices.get(bdf)
    if (!device) return verdict('unknown', `${bdf} not found`)
    if (!iommuActive(ctx)) return verdict('fail', `${bdf} has no IOMMU group: DMA remapping is not active (see platform.dma-remapping)`, [ev('no iommu_group link', `${PATHS.pci}/${bdf}/iommu_group`)])
    const group = ctx.groupOf.get(bdf)
    if (!group)
      return verdict('fail', `${bdf} is not translated by the IOMMU (no iommu_group): it cannot be assigned`, [ev('no iommu_group link', `${PATHS.pci}/${bdf}/iommu_group`)], [
        ...(ctx.cmdline?.intelIommu.igfxOff && classBase(device) === 0x03 ? ['remove `intel_iommu=igfx_off` to translate the integrated GPU'] : []),
        'check the DMAR device scopes (`vtd-check dmar`): the device may sit under an ignored unit',
      ])
    const slots = endpointSlots(ctx.topology, group.devices)
    const ownSlot = bdf.slice(0, bdf.lastIndexOf('.'))
    const others = [...slots.entries()].filter(([slot]) => slot !== ownSlot).flatMap(([, fns]) => fns)
    const siblings = slots.get(ownSlot)?.filter((b) => b !== bdf) ?? []
    const evidence = [ev(`group ${group.id}: ${group.devices.join(', ')}`, `${PATHS.groups}/${group.id}/devices`)]
    const override = acsOverrideState(ctx)
    if (override.active) evidence.push(...override.evidence)
    const notEnabled = acsNotEnabledByKernel(ctx)
    if (others.length > 0)
      return verdict(
        'warn',
        `group ${group.id} also holds ${plural(others.length, 'endpoint')} of other slots: ${others.join(', ')} — they go to the VM too`,
        notEnabled ? [...evidence, notEnabled.evidence] : evidence,
        [notEnabled ? notEnabled.fix : 'pass the whole group, or move the card to a slot whose upstream ports have ACS (`vtd-check groups`)'],
      )
    if (override.active) return verdict('warn', `alone in group ${group.id}, but the ACS override may have split it: isolation is not guaranteed`, evidence, ['remove `pcie_acs_override=`'])
    return verdict('pass', siblings.length > 0 ? `group ${group.id} holds only this device's functions (${[bdf, ...siblings].join(', ')})` : `alone in group ${group.id}`, evidence)
  },
}

const rmrr: DeviceCheck = {
  id: 'device.rmrr',
  title: 'RMRR on the device (firmware-reserved DMA)',
  category: 'device',
  scope: 'device',
  reads: [`${PATHS.groups}/N/reserved_regions`, 'dmesg'],
  docs: DOCS.kernelIommu,
  assess(ctx, bdf) {
    const group = ctx.groupOf.get(bdf)
    if (!group) return verdict('not-applicable', 'no IOMMU group: see device.isolation')
    const regions = reservedRegions(group.reservedRegions)
    const direct = regions.filter((r) => r.type === 'direct')
    const relaxable = regions.filter((r) => r.type === 'direct-relaxable')
    const source = `${PATHS.groups}/${group.id}/reserved_regions`
    const refused = [...ctx.logFacts.rmrrIneligible, ...ctx.logFacts.rmrrRequire1to1].includes(bdf)
    const evidence = regions.filter((r) => r.type.startsWith('direct')).map((r) => ev(`${r.start}-${r.end} ${r.type}`, source))
    if (refused) evidence.push(ev(`the kernel logged an RMRR refusal for ${bdf}`, ctx.log.source))
    const base = classBase(ctx.devices.get(bdf))
    const usbOrGpu = base === 0x03 || (ctx.devices.get(bdf)?.classCode ?? 0) >> 8 === 0x0c03
    if (refused || (direct.length > 0 && !usbOrGpu))
      return verdict('fail', `firmware keeps DMA-ing into memory for this group (RMRR): ${rmrrRefusalText(ctx)}`, evidence, RMRR_FIX)
    if (relaxable.length > 0 && usbOrGpu && !(classBase(ctx.devices.get(bdf)) === 0x06))
      return verdict('warn', 'a relaxable RMRR (USB legacy / GPU framebuffer): assignable, but the firmware feature behind it stops working while assigned', evidence)
    if (group.reservedRegions === undefined) return verdict('unknown', 'reserved_regions not readable', [ev('missing', source)])
    return verdict('pass', 'no RMRR pins this group', evidence.length > 0 ? evidence : [ev('no direct regions', source)])
  },
}

const vfioNodes: DeviceCheck = {
  id: 'device.vfio-nodes',
  title: 'VFIO device nodes (/dev/vfio/N, IOMMUFD cdev)',
  category: 'device',
  scope: 'device',
  reads: ['/dev/vfio', '/dev/vfio/devices', '/dev/iommu'],
  docs: DOCS.iommufd,
  assess(ctx, bdf) {
    const device = ctx.devices.get(bdf)
    const group = ctx.groupOf.get(bdf)
    if (!group) return verdict('not-applicable', 'no IOMMU group: see device.isolation')
    const {devVfio, devVfioDevices, devIommuPresent} = ctx.host.platform
    const evidence: Evidence[] = [
      ev(devVfio.ok ? `/dev/vfio: ${devVfio.value.join(' ') || '(empty)'}` : `/dev/vfio ${devVfio.reason}`, '/dev/vfio'),
      ev(devIommuPresent ? '/dev/iommu present (IOMMUFD)' : '/dev/iommu absent', '/dev/iommu'),
      ev(devVfioDevices.ok ? `/dev/vfio/devices: ${devVfioDevices.value.join(' ') || '(empty)'}` : `/dev/vfio/devices ${devVfioDevices.reason}`, '/dev/vfio/devices'),
    ]
    if (!isVfioDriver(device?.driver)) return verdict('not-applicable', `the VFIO nodes appear once ${bdf} is bound to vfio-pci (see device.driver)`, evidence)
    const groupNode = devVfio.ok && devVfio.value.includes(String(group.id))
    if (!groupNode) return verdict('fail', `bound to ${device?.driver} but /dev/vfio/${group.id} is missing`, evidence, ['check `dmesg | grep -i vfio`; reload vfio-pci'])
    if (!devIommuPresent || !devVfioDevices.ok)
      return verdict('warn', `/dev/vfio/${group.id} present (legacy group interface); no IOMMUFD cdev — tools that need /dev/iommu and /dev/vfio/devices (QEMU iommufd, KubeVirt ≥ 1.9) will fail`, evidence, [
        'use a kernel with CONFIG_IOMMUFD=y and CONFIG_VFIO_DEVICE_CDEV=y (6.6+), then `sudo modprobe iommufd`',
      ])
    return verdict('pass', `/dev/vfio/${group.id} and the IOMMUFD cdev are present`, evidence)
  },
}

export const DEVICE_CHECKS: DeviceCheck[] = [reset, driver, hostCritical, isolation, rmrr, vfioNodes]
