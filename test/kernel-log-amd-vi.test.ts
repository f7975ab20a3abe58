/**
 * AMD-Vi event lines of every era, from the real kernel logs in test/fixtures/real/dmesg (see
 * SOURCES.md there) and the kernel's own format strings (iommu_print_event).
 */
import {readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseKernelLog, type AmdViRecord} from '../src/decode/kernel-log/index.js'
import {realData} from './support/paths.js'

const amd = (text: string): AmdViRecord[] => parseKernelLog(text).flatMap((r) => (r.type === 'amd-vi' ? [r] : []))

describe('AMD-Vi event lines', () => {
  it('every AMD-Vi event line in the real logs parses, with device, address and decoded flags', () => {
    const dir = path.join(realData, 'dmesg')
    let lines = 0
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
      const text = readFileSync(path.join(dir, file), 'utf8')
      const expected = text.split('\n').filter((l) => /AMD-Vi: Event logged \[\w/.test(l)).length
      const got = amd(text)
      expect(got.length, file).toBe(expected)
      lines += expected
      for (const r of got) {
        expect(r.device, file).toMatch(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/)
        expect(r.meaning).not.toMatch(/does not know/)
      }
    }
    expect(lines).toBeGreaterThanOrEqual(15)
  })

  it('device in front (5.x+) and device= (older) give the same record; flags 0x0070 is a write permission fault', () => {
    const [modern] = amd('[   40.182570] ath10k_pci 0000:01:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x000d address=0xcff49550 flags=0x0070]')
    expect(modern).toMatchObject({event: 'IO_PAGE_FAULT', device: '0000:01:00.0', domain: 0x0d, address: 0xcff49550n, flags: 0x70, access: 'write'})
    expect(modern?.flagBits).toMatchObject({present: true, write: true, permission: true, interrupt: false})
    expect(modern?.meaning).toMatch(/write to a mapped page without write permission/)
    const [old] = amd('[    1.116842] AMD-Vi: Event logged [IO_PAGE_FAULT device=20:00.0 domain=0x0003 address=0x000000f4001eef80 flags=0x0010]')
    expect(old).toMatchObject({device: '0000:20:00.0', address: 0xf4001eef80n, access: 'read'})
    const [notPresent] = amd('nvme 0000:01:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0000 address=0xfc189000 flags=0x0000]')
    expect(notPresent?.meaning).toMatch(/no mapping .* \(not present\)/)
  })

  it('the old split form, the other event types and Completion-Wait timeouts', () => {
    const recs = amd(
      [
        '[ 4.5] AMD-Vi: Event logged [',
        '[ 4.5] IO_PAGE_FAULT device=00:14.2 domain=0x0000 address=0x00000000bfe00000 flags=0x0030]',
        '[ 5.0] AMD-Vi: Event logged [ILLEGAL_DEV_TABLE_ENTRY device=01:00.0 address=0x00000000fec00000 flags=0x0a00]',
        '[ 5.1] AMD-Vi: Event logged [INVALID_DEVICE_REQUEST device=03:00.0 pasid=0x00000 address=0x0 flags=0x0a00]',
        '[ 5.2] AMD-Vi: Event logged [PAGE_TAB_HARDWARE_ERROR device=02:00.0 domain=0x0001 address=0x1000 flags=0x0000]',
        '[ 5.3] AMD-Vi: Event logged [COMMAND_HARDWARE_ERROR address=0x0000000012345000 flags=0x0000]',
        '[ 5.4]   iommu ivhd0: AMD-Vi: Event logged [IOTLB_INV_TIMEOUT device=63:00.0 address=0x42b5b01a0]',
        '[ 6.0] AMD-Vi: Completion-Wait loop timed out',
      ].join('\n'),
    )
    expect(recs.map((r) => r.event)).toEqual(['IO_PAGE_FAULT', 'ILLEGAL_DEV_TABLE_ENTRY', 'INVALID_DEVICE_REQUEST', 'PAGE_TAB_HARDWARE_ERROR', 'COMMAND_HARDWARE_ERROR', 'IOTLB_INV_TIMEOUT', 'COMPLETION_WAIT_TIMEOUT'])
    expect(recs[0]).toMatchObject({splitForm: true, device: '0000:00:14.2', access: 'write', address: 0xbfe00000n})
    expect(recs[5]).toMatchObject({device: '0000:63:00.0', address: 0x42b5b01a0n})
    expect(recs[6]?.meaning).toMatch(/stopped processing commands/)
  })
})

describe("Xen's own AMD-Vi event lines", () => {
  // Format strings of xen/drivers/passthrough/amd/iommu_init.c (4.13+ and the older one); lines from
  // the xen-devel threads in test/fixtures/fault-cases (amdvi-xen-pvh-dom0-low-1mb).
  it('4.13+: requester, decimal domain, address and the flag bits', () => {
    const [r] = amd('(XEN) AMD-Vi: IO_PAGE_FAULT: 0000:00:13.1 d0 addr 00000000000eb380 flags 0x20 RW')
    expect(r).toMatchObject({event: 'IO_PAGE_FAULT', device: '0000:00:13.1', domain: 0, address: 0xeb380n, flags: 0x20})
    const [i] = amd('(XEN) AMD-Vi: IO_PAGE_FAULT: 0000:00:14.0 d12 addr 000000fdf8010140 flags 0x8 I')
    expect(i).toMatchObject({device: '0000:00:14.0', domain: 12, address: 0xfdf8010140n})
    expect(i?.flagBits?.interrupt).toBe(true)
    // Xen prints zero flags as "0" (%#x)
    expect(amd('AMD-Vi: IO_PAGE_FAULT: 0000:00:12.0 d0 addr 00000000000eb040 flags 0')[0]).toMatchObject({flags: 0, address: 0xeb040n})
  })

  it('before 4.13: the device id is the requester ID (bus << 8 | devfn)', () => {
    const [r] = amd('(XEN) AMD-Vi: IO_PAGE_FAULT: domain = 0, device id = 0x2600, fault address = 0xfffffffdf8000000, flags = 0x8')
    expect(r).toMatchObject({event: 'IO_PAGE_FAULT', device: '0000:26:00.0', domain: 0, address: 0xfffffffdf8000000n, flags: 8})
    expect(amd('AMD-Vi: IO_PAGE_FAULT: domain = 3, device id = 0xa5, fault address = 0xcfee0000, flags = 0x30')[0]).toMatchObject({device: '0000:00:14.5', domain: 3})
  })
})

describe("a redacted Xen AMD-Vi line", () => {
  it('keeps the event and its flags; the redacted requester and address are unknown, not zero', () => {
    // Elliott Mitchell's line, quoted by Roger Pau Monné on xen-devel (amdvi-xen-irte-nonatomic-redacted)
    const [r] = amd('(XEN) AMD-Vi: IO_PAGE_FAULT: DDDD:bb:dd.f d0 addr ffffff???????000 flags 0x8 I')
    expect(r).toMatchObject({event: 'IO_PAGE_FAULT', domain: 0, flags: 8, redacted: true})
    expect(r?.device).toBeUndefined()
    expect(r?.address).toBeUndefined()
    expect(r?.flagBits?.interrupt).toBe(true)
    expect(amd('(XEN) AMD-Vi: IO_PAGE_FAULT: 0000:00:14.0 d0 addr 000000fdf8010140 flags 0x8 I')[0]?.redacted).toBeUndefined()
  })
})
