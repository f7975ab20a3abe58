/** Kernel parameters read for their effect (vtd-reference §8), on real command lines. */
import {readFileSync} from 'node:fs'
import * as path from 'node:path'
import {describe, expect, it} from 'vitest'
import {describeEffects, ineffectiveParameters, parseKernelParameters, tokenizeCmdline} from '../src/model/kernel-parameters.js'
import {realData} from './support/paths.js'

/** The "Command line:" the X299 Taichi host booted with (real dmesg in test/fixtures/real/pci). */
function x299Cmdline(): string {
  const log = readFileSync(path.join(realData, 'pci/x299-taichi-xe-i9-7920x-dmesg.txt'), 'utf8')
  const line = log.split('\n').find((l) => l.includes('Command line:'))
  if (!line) throw new Error('no Command line in the x299 dmesg')
  return line.slice(line.indexOf('Command line:') + 'Command line:'.length).trim()
}

describe('tokenizeCmdline', () => {
  it('stops at a bare "--" (the rest belongs to init) and keeps quoted values whole', () => {
    const tokens = tokenizeCmdline('ro quiet foo="a b" intel_iommu=on -- --firecracker-init intel_iommu=off')
    expect(tokens).toEqual([{key: 'ro'}, {key: 'quiet'}, {key: 'foo', value: 'a b'}, {key: 'intel_iommu', value: 'on'}])
  })
})

describe('parseKernelParameters on real command lines', () => {
  it('X299 Taichi (Gentoo 5.4): intel_iommu=on, iommu=pt, intremap=no_x2apic_optout', () => {
    const params = parseKernelParameters(x299Cmdline())
    expect(params.intelIommu.enabled).toBe(true)
    expect(params.defaultDomain).toEqual({type: 'identity', via: 'iommu=pt'})
    expect(params.intremap.noX2apicOptout).toBe(true)
    expect(params.intremap.off).toBe(false)
    expect(ineffectiveParameters(params, 'intel')).toEqual([])
    expect(describeEffects(params).some((l) => l.startsWith('iommu=pt: identity (passthrough) default domain'))).toBe(true)
  })

  it('CM238 PLX host (6.18-rc7): no IOMMU parameter at all', () => {
    const text = readFileSync(path.join(realData, 'pci/cm238-xeone3-plx-switch-cmdline.txt'), 'utf8')
    const params = parseKernelParameters(text)
    expect(params.intelIommu.enabled).toBeUndefined()
    expect(params.defaultDomain).toBeUndefined()
    expect(describeEffects(params)).toEqual([])
  })
})

describe('effects, in command-line order', () => {
  it('the last intel_iommu on/off wins; options accumulate', () => {
    const params = parseKernelParameters('intel_iommu=on,sm_on intel_iommu=off,igfx_off')
    expect(params.intelIommu).toMatchObject({enabled: false, scalableMode: true, igfxOff: true})
  })

  it('iommu=pt then iommu.passthrough=0: translated (the later one wins)', () => {
    expect(parseKernelParameters('iommu=pt iommu.passthrough=0').defaultDomain).toEqual({type: 'translated', via: 'iommu.passthrough=0'})
    expect(parseKernelParameters('iommu.passthrough=0 iommu=pt').defaultDomain).toEqual({type: 'identity', via: 'iommu=pt'})
  })

  it('strict invalidation from iommu.strict=1 or the deprecated intel_iommu=strict', () => {
    expect(parseKernelParameters('iommu.strict=1').invalidation).toEqual({policy: 'strict', via: 'iommu.strict=1'})
    expect(parseKernelParameters('intel_iommu=strict iommu.strict=0').invalidation).toEqual({policy: 'lazy', via: 'iommu.strict=0'})
  })

  it('acpi=off (parse_acpi: the last acpi= wins)', () => {
    expect(parseKernelParameters('root=/dev/vda acpi=off').acpiOff).toBe(true)
    expect(parseKernelParameters('acpi=off acpi=force').acpiOff).toBe(false)
    expect(parseKernelParameters('acpi=noirq pci=noacpi').acpiOff).toBe(false)
  })

  it('interrupt remapping off via intremap=off or nointremap', () => {
    expect(parseKernelParameters('intremap=off').intremap.off).toBe(true)
    expect(parseKernelParameters('nointremap').intremap).toMatchObject({off: true, via: 'nointremap'})
    expect(parseKernelParameters('intremap=nosid,nopost').intremap).toMatchObject({off: false, nosid: true, nopost: true})
  })

  it('VFIO and ACS parameters; module names accept - and _', () => {
    const params = parseKernelParameters('vfio-pci.ids=10de:2204,10de:1aef vfio_iommu_type1.allow_unsafe_interrupts=1 pcie_acs_override=downstream,multifunction pci=noats')
    expect(params.vfioPciIds.map((id) => [id.vendor, id.device])).toEqual([
      [0x10de, 0x2204],
      [0x10de, 0x1aef],
    ])
    expect(params.allowUnsafeInterrupts).toBe(true)
    // ids is one string parameter: a second assignment replaces the first (both are kept to be replaced).
    const twice = parseKernelParameters('vfio-pci.ids=8086:1533 vfio_pci.ids=10de:2204')
    expect(twice.vfioPciIds.map((id) => id.text)).toEqual(['10de:2204'])
    expect(twice.vfioPciIdsVia).toEqual(['vfio-pci.ids=8086:1533', 'vfio_pci.ids=10de:2204'])
    expect(params.acsOverride).toEqual(['downstream', 'multifunction'])
    expect(params.pciNoats).toBe(true)
  })

  // drivers/pci/pci.c pci_setup(): the value of pci= is split on commas and each option is matched
  // with strncmp(str, "disable_acs_redir=", 18) / strncmp(str, "config_acs=", 11); there is no
  // __setup("disable_acs_redir=") or early_param of that name, so a top-level one is not the kernel's.
  it('disable_acs_redir= and config_acs= count only as pci= options (pci_setup), not as top-level parameters', () => {
    const inPci = parseKernelParameters('root=/dev/sda1 pci=noaer,disable_acs_redir=0000:00:1c.0;pci:8086:1234,config_acs=xx110x1@0000:00:1d.0 quiet')
    expect(inPci.disableAcsRedir).toBe('0000:00:1c.0;pci:8086:1234')
    expect(inPci.configAcs).toBe('xx110x1@0000:00:1d.0')
    expect(inPci.pciNoats).toBe(false)
    expect(describeEffects(inPci).join('\n')).toMatch(/pci=disable_acs_redir=0000:00:1c\.0;pci:8086:1234: ACS redirect \(RR, CR, EC\) cleared/)
    const topLevel = parseKernelParameters('disable_acs_redir=0000:00:1c.0 config_acs=xx110x1@0000:00:1d.0')
    expect(topLevel.disableAcsRedir).toBeUndefined()
    expect(topLevel.configAcs).toBeUndefined()
    expect(describeEffects(topLevel).join('\n')).not.toMatch(/acs/i)
    // Several pci= words: each is handled in order, the last value of an option wins (the kernel keeps one pointer).
    expect(parseKernelParameters('pci=disable_acs_redir=00:01.0 pci=noats,disable_acs_redir=00:02.0').disableAcsRedir).toBe('00:02.0')
  })
})

describe('ineffective parameters (cnspec#3835)', () => {
  it('amd_iommu=on is not an option anywhere', () => {
    const found = ineffectiveParameters(parseKernelParameters('amd_iommu=on iommu=pt'), 'amd')
    expect(found.map((f) => f.param)).toEqual(['amd_iommu=on'])
  })
  it('intel_iommu= on an AMD-Vi platform, amd_iommu= on a VT-d platform', () => {
    expect(ineffectiveParameters(parseKernelParameters('intel_iommu=on'), 'amd').map((f) => f.param)).toEqual(['intel_iommu=on'])
    expect(ineffectiveParameters(parseKernelParameters('amd_iommu=fullflush'), 'intel').map((f) => f.param)).toEqual(['amd_iommu=fullflush'])
    // The platform is the firmware's IOMMU, not the CPU: an emulated VT-d obeys intel_iommu=.
    expect(ineffectiveParameters(parseKernelParameters('intel_iommu=off'), 'intel')).toEqual([])
  })
  it('made-up intel_iommu options (pasid, sva) are ignored by the kernel', () => {
    expect(ineffectiveParameters(parseKernelParameters('intel_iommu=on,pasid,sva'), 'intel').map((f) => f.param)).toEqual(['intel_iommu=pasid', 'intel_iommu=sva'])
  })
})
