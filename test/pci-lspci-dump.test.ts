/**
 * lspci hex-dump parsing: every real dump in test/fixtures/real/pci loads, with the quirks they carry
 * (a pcilib warning spliced into a hex row, an over-long text line, duplicate -vvvv/-xxxx
 * headings from a mail, all-ff functions, 256-byte dumps, domains), plus hand-made damage.
 */
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseLspciDump} from '../src/decode/lspci-dump.js'
import {formatBdfParts as formatBdf, parseBdf} from '../src/decode/pci-address.js'
import {realData} from './support/paths.js'

const dataDir = path.join(realData, 'pci')
const read = (name: string): string => readFileSync(path.join(dataDir, name), 'utf8')

// Unique device headings per file, counted with grep -E '^([0-9a-f]{4}:)?..:..\.. ' | sort -u.
const EXPECTED_DEVICES: Record<string, number> = {
  'acer-extensa-5630-gm45-lspci-xxxx.txt': 25,
  'alderlake-p-gl9755-laptop-lspci-xxxx.txt': 29,
  'asus-p6t6-x58-lspci-xxxx.txt': 53,
  'dell-latitude-e6430-nvs5200m-lspci-xxxx.txt': 22,
  'fujitsu-p8010-gm965-lspci-xxxx.txt': 22,
  'h310-coffeelake-desktop-gpu-lspci-xxxx.txt': 14,
  'huananzhi-x99-bd4-xeon-e5v3-lspci-xxxx.txt': 87,
  'huananzhi-x99-qd4-xeon-e5v3-lspci-xxxx.txt': 87,
  'intel-82576-single-sriov-lspci-xxxx.txt': 1,
  'intel-dh77df-h77-lspci-xxxx.txt': 14,
  'intel-dsa-single-pri-pasid-lspci-xxxx.txt': 1,
  'talos2-power9-lspci-xxx.txt': 16,
  'x99-i7-5930k-pch-acs-quirk-lspci-vvv-partial.txt': 3,
}

describe('every real dump loads', () => {
  const dumps = readdirSync(dataDir).filter((name) => /-lspci-xxx|-lspci-vvv-partial/.test(name))
  it('the expectations cover every dump in the shared data', () => {
    expect(dumps.sort()).toEqual(Object.keys(EXPECTED_DEVICES).sort())
  })
  for (const name of dumps) {
    it(name, () => {
      const dump = parseLspciDump(read(name))
      expect(dump.devices).toHaveLength(EXPECTED_DEVICES[name] ?? -1)
      // Every device has at least the 64-byte header, in 16-byte rows.
      for (const device of dump.devices) {
        expect(device.config.length, device.bdf).toBeGreaterThanOrEqual(64)
        expect(device.config.length % 16, device.bdf).toBe(0)
      }
    })
  }
})

describe('quirks of the real dumps', () => {
  it('huananzhi BD4: the pcilib warning inside row f10 is dropped and the wrapped bytes rejoin the row', () => {
    const dump = parseLspciDump(read('huananzhi-x99-bd4-xeon-e5v3-lspci-xxxx.txt'))
    expect(dump.warnings.some((w) => w.includes('pcilib: sysfs_read_vpd'))).toBe(true)
    // The spliced row belongs to 05:00.1 (heading at line 4830): it keeps all 4096 bytes, and
    // the four bytes pushed onto line 5124 ("00 00 00 00") close row f10.
    const audio = dump.devices.find((device) => device.bdf === '0000:05:00.1')
    expect(audio?.config.length).toBe(4096)
    expect([...(audio?.config.subarray(0xf10, 0xf20) ?? [])]).toEqual(new Array(16).fill(0))
    expect([...(audio?.config.subarray(0, 4) ?? [])]).toEqual([0x02, 0x10, 0x28, 0xab])
    expect(dump.warnings.filter((w) => w.includes('truncated'))).toEqual([])
  })

  it('x99 mail: -vvvv and -xxxx headings of the same port merge into one device with its bytes', () => {
    const dump = parseLspciDump(read('x99-i7-5930k-pch-acs-quirk-lspci-vvv-partial.txt'))
    expect(dump.devices.map((d) => d.bdf)).toEqual(['0000:00:01.0', '0000:00:01.1', '0000:00:1c.4'])
    for (const device of dump.devices) expect(device.config.length).toBe(4096)
    // Row 00 of 00:01.0 reads "86 80 02 2f": Intel 2f02.
    expect([...(dump.devices[0]?.config.subarray(0, 4) ?? [])]).toEqual([0x86, 0x80, 0x02, 0x2f])
    expect(dump.devices[0]?.driver).toBe('pcieport')
  })

  it('acer: the 256+ character heading lspci -F rejects is read', () => {
    const dump = parseLspciDump(read('acer-extensa-5630-gm45-lspci-xxxx.txt'))
    const ide = dump.devices.find((d) => d.bdf === '0000:00:1f.2')
    expect(ide?.description).toMatch(/^IDE interface \[0101\]/)
    expect(ide?.config.length).toBe(256)
  })

  it('talos2: domains other than 0000 keep their number', () => {
    const dump = parseLspciDump(read('talos2-power9-lspci-xxx.txt'))
    expect([...new Set(dump.devices.map((d) => d.segment))]).toEqual([0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x30, 0x31, 0x32, 0x33])
  })

  it('h310 -vvvxxxx: IOMMU group and driver lines are kept', () => {
    const dump = parseLspciDump(read('h310-coffeelake-desktop-gpu-lspci-xxxx.txt'))
    const groups = read('h310-coffeelake-desktop-gpu-lspci-xxxx.txt').match(/IOMMU group: \d+/g) ?? []
    expect(dump.devices.filter((d) => d.iommuGroup !== undefined)).toHaveLength(groups.length)
    expect(groups.length).toBe(14)
  })
})

describe('hand-made damage', () => {
  const header = '00: 86 80 c9 10 07 04 10 00 01 00 00 02 10 00 80 00'
  it('mail quoting, CRLF, stray text before the first heading, domain-less heading', () => {
    const text = ['Here is my lspci:', '> 01:00.0 Ethernet controller: Intel', `> ${header}`, '> 10: 00 00 80 e0 00 00 00 e0 21 10 00 00 00 00 84 e0', ''].join('\r\n')
    const dump = parseLspciDump(text)
    expect(dump.devices).toHaveLength(1)
    expect(dump.devices[0]?.bdf).toBe('0000:01:00.0')
    expect(dump.devices[0]?.config.length).toBe(32)
    expect(dump.devices[0]?.config[0x0e]).toBe(0x80)
  })

  it('a row wrapped onto the next line rejoins it', () => {
    const text = ['02:00.0 x', '00: 86 80 c9 10 07 04 10 00', '01 00 00 02 10 00 80 00', '10: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00'].join('\n')
    const device = parseLspciDump(text).devices[0]
    expect(device?.config.length).toBe(32)
    expect(device?.config[0x0b]).toBe(0x02)
  })

  it('a missing row truncates at the gap instead of inventing bytes', () => {
    const text = ['03:00.0 x', header, '20: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00'].join('\n')
    const dump = parseLspciDump(text)
    expect(dump.devices[0]?.config.length).toBe(16)
    expect(dump.warnings.join('\n')).toContain('<truncated at 0x10>')
  })

  it('text with no device heading is reported, not thrown', () => {
    const dump = parseLspciDump('lspci: Unable to load libkmod resources\n')
    expect(dump.devices).toEqual([])
    expect(dump.warnings[0]).toMatch(/no device headings/)
  })
})

describe('BDF helpers', () => {
  it('short and full forms, VMD domains', () => {
    expect(parseBdf('01:00.0')).toEqual({segment: 0, bus: 1, device: 0, function: 0})
    expect(formatBdf({segment: 0x10000, bus: 0xe0, device: 6, function: 0})).toBe('10000:e0:06.0')
    expect(parseBdf('10000:e0:06.0')?.segment).toBe(0x10000)
    expect(parseBdf('00:20.0')).toBeUndefined() // device numbers stop at 0x1f
    expect(parseBdf('zz')).toBeUndefined()
  })
})
