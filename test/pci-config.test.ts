/**
 * Config-space decoder on real bytes (expectations read from the -vvv text lspci printed beside
 * the hex in the same real files), plus the broken-input rules: short reads are unknown, loops
 * end, nothing throws.
 */
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {parseLspciDump} from '../src/decode/lspci-dump.js'
import {decodePciConfig, findCapability, flagField, numberField, type DecodedCapability, type DecodedConfig} from '../src/decode/pci-config.js'
import {configFacts} from '../src/model/topology.js'
import {realData} from './support/paths.js'

function realConfig(file: string, bdf: string): Uint8Array {
  const dump = parseLspciDump(readFileSync(path.join(realData, 'pci', file), 'utf8'))
  const device = dump.devices.find((d) => d.bdf === bdf)
  if (!device) throw new Error(`${bdf} not in ${file}`)
  return device.config
}

const offsets = (config: DecodedConfig): number[] => [...config.capabilities.list, ...config.extendedCapabilities.list].map((cap) => cap.offset)

describe('real devices', () => {
  it('Intel DSA (RCiEP): ATS on, PASID on with Priv, PRI off, FLR', () => {
    const config = decodePciConfig(realConfig('intel-dsa-single-pri-pasid-lspci-xxxx.txt', '0000:6a:01.0'))
    // lspci: Capabilities [40] [80] [90] [100] [150] [160] [170] [200] [220] [230] [240]
    expect(offsets(config)).toEqual([0x40, 0x80, 0x90, 0x100, 0x150, 0x160, 0x170, 0x200, 0x220, 0x230, 0x240])
    const facts = configFacts(config)
    expect(facts.pcieType).toBe(9)
    // ATSCtl: Enable+, Smallest Translation Unit: 00 ; ATSCap: Invalidate Queue Depth: 00
    expect(facts.ats).toEqual({enabled: true, stu: 0, invalidateQueueDepth: 0})
    // PASIDCap: Exec- Priv+, Max PASID Width: 14 ; PASIDCtl: Enable+
    expect(facts.pasid).toEqual({enabled: true, maxWidth: 0x14, exec: false, priv: true})
    expect(facts.pri).toEqual({enabled: false})
    expect(facts.flr).toEqual({pcie: true, af: false})
    expect(facts.noSoftReset).toBe(true) // Status: D0 NoSoftRst+
    expect(facts.acs).toBeUndefined() // full 4 KiB read, no ACS capability: absent, not unknown
    const dvsec = findCapability(config, 'extended', 0x23)
    expect(typeof dvsec === 'object' && dvsec.fields).toMatchObject({dvsecVendorId: 0x8086, dvsecId: 5})
  })

  it('Intel 82576 PF: SR-IOV counts, offset, stride, VF id; ARI; FLR', () => {
    const config = decodePciConfig(realConfig('intel-82576-single-sriov-lspci-xxxx.txt', '0000:01:00.0'))
    expect(offsets(config)).toEqual([0x40, 0x50, 0x70, 0xa0, 0x100, 0x140, 0x150, 0x160])
    const facts = configFacts(config)
    expect(facts.pcieType).toBe(0)
    // Initial VFs: 8, Total VFs: 8, Number of VFs: 1 ; VF offset: 384, stride: 2, Device ID: 10ca ; IOVCtl: Enable+ ARIHierarchy-
    expect(facts.sriov).toEqual({totalVfs: 8, initialVfs: 8, numVfs: 1, firstVfOffset: 384, vfStride: 2, vfDeviceId: 0x10ca, vfEnable: true, ariCapableHierarchy: false})
    expect(facts.ari).toEqual({nextFunction: 1})
    expect(facts.flr).toEqual({pcie: true, af: false})
    expect(config.multifunction).toBe(true) // dual-port NIC: header type byte 0x80 (row 00, byte 0x0e)
    expect(config.classCode).toBe(0x020000)
  })

  it('X99 CPU root port: ACS capability 0x1f, control 0x1d; PCH root port 00:1c.4 has no ACS at all', () => {
    const cpuPort = configFacts(decodePciConfig(realConfig('x99-i7-5930k-pch-acs-quirk-lspci-vvv-partial.txt', '0000:00:01.0')))
    // ACSCap: SrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ ; ACSCtl: SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+
    expect(cpuPort.acs).toEqual({cap: 0x1f, ctl: 0x1d})
    expect(cpuPort.pcieType).toBe(4)
    expect(cpuPort.slot).toBeDefined() // Root Port (Slot+)
    const pchPort = decodePciConfig(realConfig('x99-i7-5930k-pch-acs-quirk-lspci-vvv-partial.txt', '0000:00:1c.4'))
    expect(configFacts(pchPort).acs).toBeUndefined()
    expect(pchPort.extendedCapabilities.complete).toBe(true)
    expect(configFacts(pchPort).noSoftReset).toBe(false) // Status: D0 NoSoftRst-
    expect(pchPort.secondaryBus).toBeGreaterThan(0)
  })

  it('POWER9 dump with 256 bytes: extended capabilities are unknown, not absent', () => {
    const config = decodePciConfig(realConfig('talos2-power9-lspci-xxx.txt', '0000:00:00.0'))
    expect(config.length).toBe(256)
    expect(config.extendedCapabilities.complete).toBe(false)
    const facts = configFacts(config)
    expect(facts.pcieType).toBe(4)
    expect(facts.acs).toBe('unknown')
    expect(facts.sriov).toBe('unknown')
    expect(config.primaryBus).toBe(0)
    expect(config.secondaryBus).toBe(1)
    expect(config.subordinateBus).toBe(0xff)
  })

  it('powered-off GPU audio function (all-ones header) is unknown, not "no capabilities"', () => {
    const config = decodePciConfig(realConfig('dell-latitude-e6430-nvs5200m-lspci-xxxx.txt', '0000:01:00.1'))
    expect(config.allOnes).toBe(true)
    const facts = configFacts(config)
    expect(facts.pcieType).toBe('unknown')
    expect(facts.acs).toBe('unknown')
    expect(facts.flr).toBe('unknown')
    expect(config.problems.join(' ')).toMatch(/all-ones/)
  })
})

describe('non-root reads (64 bytes) and broken input', () => {
  it('64 bytes of a real PCIe endpoint: every capability fact is unknown, never absent', () => {
    const config = decodePciConfig(realConfig('intel-82576-single-sriov-lspci-xxxx.txt', '0000:01:00.0').subarray(0, 64))
    expect(config.vendorId).toBe(0x8086)
    expect(config.deviceId).toBe(0x10c9)
    expect(config.capabilities.complete).toBe(false)
    expect(config.extendedCapabilities.complete).toBe(false)
    const facts = configFacts(config)
    for (const key of ['pcieType', 'acs', 'ari', 'ats', 'pri', 'pasid', 'sriov', 'flr'] as const) expect(facts[key], key).toBe('unknown')
  })

  it('256 bytes of a PCIe device: standard list known, extended unknown', () => {
    const config = decodePciConfig(realConfig('intel-82576-single-sriov-lspci-xxxx.txt', '0000:01:00.0').subarray(0, 256))
    expect(config.capabilities.complete).toBe(true)
    expect(configFacts(config).pcieType).toBe(0)
    expect(configFacts(config).flr).toEqual({pcie: true, af: false})
    expect(configFacts(config).sriov).toBe('unknown')
  })

  it('conventional PCI device (no PCIe capability) has no extended space: ACS absent even from 256 bytes', () => {
    // A config header with the capability-list bit set and one PM capability, no PCIe capability.
    const bytes = new Uint8Array(256)
    bytes.set([0x86, 0x80, 0x34, 0x12], 0)
    bytes[0x06] = 0x10
    bytes[0x34] = 0x50
    bytes.set([0x01, 0x00, 0x03, 0x00, 0x08, 0x00], 0x50) // PM, next 0, PMCSR No_Soft_Reset
    const config = decodePciConfig(bytes)
    expect(config.extendedCapabilities).toEqual({list: [], complete: true})
    const facts = configFacts(config)
    expect(facts.pcieType).toBeUndefined()
    expect(facts.acs).toBeUndefined()
    expect(facts.noSoftReset).toBe(true)
  })

  it('a capability loop ends and is reported', () => {
    const bytes = new Uint8Array(256)
    bytes[0x06] = 0x10
    bytes[0x34] = 0x40
    bytes.set([0x05, 0x50], 0x40)
    bytes.set([0x42, 0x40], 0x50) // unknown id 0x42, points back to 0x40
    const config = decodePciConfig(bytes)
    expect(config.capabilities.list.map((cap) => cap.offset)).toEqual([0x40, 0x50])
    expect(config.capabilities.list[1]?.name).toBe('unknown (0x42)')
    expect(config.problems).toContain('capability loop at 0x40')
  })

  it('an extended capability loop ends and is reported', () => {
    const bytes = new Uint8Array(4096)
    bytes[0x06] = 0x10
    bytes[0x34] = 0x40
    bytes.set([0x10, 0x00, 0x02, 0x00], 0x40) // PCIe v2 endpoint
    bytes.set([0x0d, 0x00, 0x01, 0x10], 0x100) // ACS v1 → next 0x100
    const config = decodePciConfig(bytes)
    expect(config.extendedCapabilities.list).toHaveLength(1)
    expect(config.problems).toContain('extended capability loop at 0x100')
    expect(configFacts(config).acs).toEqual({cap: 0, ctl: 0})
  })

  it('a truncated header is data, not an exception', () => {
    const config = decodePciConfig(Uint8Array.from([0x86, 0x80, 0x34, 0x12, 0, 0, 0x10, 0, 1, 0, 0, 6, 0, 0, 0x81, 0, 0, 0, 0, 0]))
    expect(config.problems[0]).toBe('<truncated at 0x14>')
    expect(config.vendorId).toBe(0x8086)
    expect(config.multifunction).toBe(true)
    expect(config.headerLayout).toBe(1)
    expect(config.secondaryBus).toBeUndefined()
    expect(config.capabilities.complete).toBe(false)
  })

  it('never throws and always terminates on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({minLength: 0, maxLength: 4096}), (bytes) => {
        const config = decodePciConfig(bytes)
        expect(config.capabilities.list.length).toBeLessThanOrEqual(48)
        expect(config.extendedCapabilities.list.length).toBeLessThanOrEqual(960)
        configFacts(config)
      }),
      {numRuns: 300},
    )
  })
})

/**
 * numberField/flagField read one field of a capability whose fields are not decoded yet; the
 * answer must be the whole decode's (`fields[name]`), conditions included (PCIe slot registers
 * only with slotImplemented, ARI forwarding only from capability version 2).
 */
describe('one field read alone agrees with the whole decode', () => {
  // Fields whose conditions can leave them out of `fields`: asked for whether or not they were decoded.
  const conditional = ['hotPlugCapable', 'physicalSlot', 'presenceDetect', 'ariForwardingSupported', 'ariForwardingEnabled', 'nonexistent', 'constructor']
  const capsOf = (config: DecodedConfig): DecodedCapability[] => [...config.capabilities.list, ...config.extendedCapabilities.list]
  function expectSameFields(bytes: Uint8Array): number {
    const whole = capsOf(decodePciConfig(bytes)).map((cap) => cap.fields)
    const alone = capsOf(decodePciConfig(bytes))
    expect(alone).toHaveLength(whole.length)
    let compared = 0
    alone.forEach((cap, i) => {
      const fields = whole[i] as Record<string, number | boolean>
      // Conditional names first, while nothing of this capability is decoded.
      for (const name of [...conditional, ...Object.keys(fields)]) {
        const value = Object.hasOwn(fields, name) ? fields[name] : undefined
        expect(numberField(cap, name), `${cap.name} ${name}`).toBe(typeof value === 'number' ? value : undefined)
        expect(flagField(cap, name), `${cap.name} ${name}`).toBe(typeof value === 'boolean' ? value : undefined)
        compared++
      }
    })
    return compared
  }

  it('on every function of every real config dump', () => {
    const dir = path.join(realData, 'pci')
    let compared = 0
    for (const file of readdirSync(dir).filter((name) => name.endsWith('-lspci-xxxx.txt'))) {
      for (const device of parseLspciDump(readFileSync(path.join(dir, file), 'utf8')).devices) compared += expectSameFields(device.config)
    }
    expect(compared).toBeGreaterThan(1000)
  })

  it('on a PCIe capability of any version, slot bit and contents', () => {
    fc.assert(
      fc.property(fc.uint8Array({minLength: 0x3c, maxLength: 0x3c}), fc.integer({min: 0, max: 15}), fc.boolean(), (body, version, slot) => {
        const bytes = new Uint8Array(0x100)
        bytes.set([0x86, 0x80, 0x01, 0x00, 0, 0, 0x10, 0x00], 0) // status: capability list
        bytes[0x34] = 0x40
        bytes.set(body, 0x44)
        // PCIe capability header: id 0x10, no next, flags: version, port type root port, slot implemented.
        bytes.set([0x10, 0x00, version | 0x40, slot ? 0x01 : 0x00], 0x40)
        expect(expectSameFields(bytes)).toBeGreaterThan(0)
      }),
      {numRuns: 300},
    )
  })
})
