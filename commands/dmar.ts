import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base.js'
import {DMAR_TABLE_PATH, lintDmar} from '../src/checks/dmar-lint.js'
import {exitCodeFor} from '../src/checks/outcome.js'
import {decodeDmar, dmarBytesFromText} from '../src/decode/dmar.js'
import {describeDevice} from '../src/decode/pci-ids.js'
import type {Read} from '../src/host/fs.js'
import {readKernelLog, readLocalBytes} from '../src/host/kernel-log.js'
import {resolveDmarScopes} from '../src/model/dmar-scope.js'
import type {PciTopology} from '../src/model/pci.js'
import {loadTopology} from '../src/model/topology.js'
import {buildDmarReport, renderDmarReport, type DmarReport} from '../src/report/dmar.js'

const startsWithSignature = (bytes: Uint8Array): boolean => bytes[0] === 0x44 && bytes[1] === 0x4d && bytes[2] === 0x41 && bytes[3] === 0x52

export default class Dmar extends BaseCommand {
  static override summary = 'Decode and lint the ACPI DMAR table'
  static override description = `Decodes every structure of the DMAR table (DRHD, RMRR, ATSR, RHSA, ANDD, SATC, SIDP) the way ACPICA does, resolves each device scope to a PCI function of this host (or of the --root snapshot / --lspci-dump), shows which remapping unit owns each device, and lints what firmware gets wrong: checksum, lengths, zero or unaligned register bases, duplicate catch-all units, broken or page-zero RMRRs, RMRRs that block passthrough, orphan RHSAs, x2APIC opt-out, missing IOAPIC scopes, scopes to absent devices, ATS-capable devices under ports no ATSR lists.

The table at ${DMAR_TABLE_PATH} is readable by root only. A table saved elsewhere (acpidump -b, a capture) is read with --file; it is then linted on its own, without this host's PCI devices, unless --root or --lspci-dump names where they come from.`

  static override examples = [
    '<%= config.bin %> dmar',
    '<%= config.bin %> dmar --file dmar.dat',
    '<%= config.bin %> dmar --file acpidump.txt',
    '<%= config.bin %> dmar --file dmar.dat --lspci-dump lspci-xxxx.txt',
    '<%= config.bin %> dmar --root ./snapshot --json',
  ]

  static override flags = {
    file: Flags.string({description: 'read the table from this file instead of the host: raw bytes (`acpidump -b`, a copy of /sys/firmware/acpi/tables/DMAR), `acpidump` text, or an `iasl -d` .dsl'}),
    verbose: Flags.boolean({char: 'v', description: 'show passing lints and all evidence'}),
  }

  async run(): Promise<DmarReport> {
    const {flags} = await this.parse(Dmar)
    const fs = this.hostFs(flags.root)
    const source = flags.file ?? (flags.root === '/' ? DMAR_TABLE_PATH : `${flags.root}${DMAR_TABLE_PATH}`)
    const read: Read<Uint8Array> = flags.file !== undefined ? readLocalBytes(flags.file) : fs.readBytes(DMAR_TABLE_PATH)
    if (!read.ok) this.failRead(read, flags.file !== undefined)

    // --file may also be acpidump text or an iasl .dsl: take the DMAR bytes from the hex dump.
    const fromText = flags.file !== undefined && !startsWithSignature(read.value) ? dmarBytesFromText(new TextDecoder('latin1').decode(read.value)) : undefined
    const table = decodeDmar(fromText ?? read.value)
    // A table from a file describes some other machine unless the user says where its devices are.
    const wantTopology = flags.file === undefined || flags.root !== '/' || flags['lspci-dump'] !== undefined
    let topology: PciTopology | undefined
    let topologySource: string | undefined
    if (wantTopology) {
      const loaded = loadTopology(fs, {lspciDump: flags['lspci-dump']})
      if (loaded.ok && loaded.topology.devices.size > 0) {
        topology = loaded.topology
        topologySource = loaded.source
      } else if (!loaded.ok) this.warn(loaded.error)
    }
    const resolution = topology ? resolveDmarScopes(table, topology) : undefined
    const log = flags.file === undefined ? await readKernelLog(fs) : undefined
    const lint = lintDmar(table, topology, {source, ...(resolution ? {resolution} : {}), ...(log?.ok ? {kernelLog: log.value} : {})})
    const report = buildDmarReport(table, source, lint, resolution, topologySource)

    if (!this.jsonEnabled()) {
      const names = this.pciNames(fs)
      const deviceName = (bdf: string): string | undefined => {
        const fn = topology?.devices.get(bdf)
        return fn ? describeDevice(names, fn.vendorId, fn.deviceId) : undefined
      }
      process.stdout.write(renderDmarReport(table, source, lint, {...(resolution ? {resolution} : {}), deviceName, verbose: flags.verbose, width: process.stdout.columns}))
    }
    process.exitCode = exitCodeFor(lint.map((r) => r.outcome))
    return report
  }

  private failRead(read: Extract<Read<Uint8Array>, {ok: false}>, fromFile: boolean): never {
    if (fromFile) this.error(`cannot read ${read.path}: ${read.message}`, {exit: 2})
    if (read.reason === 'unreadable')
      this.error(`${read.path} is readable by root only (mode 0400): the DMAR table cannot be decoded as this user`, {
        exit: 3,
        suggestions: ['Run `sudo vtd-check dmar`', 'Or save it once with `sudo cat /sys/firmware/acpi/tables/DMAR > dmar.dat` and run `vtd-check dmar --file dmar.dat`'],
      })
    this.error(`no DMAR table at ${read.path}: VT-d is disabled in the firmware setup, or this is not an Intel VT-d platform`, {
      exit: 3,
      suggestions: ['Enable "VT-d" / "Intel Virtualization Technology for Directed I/O" in the firmware setup', 'On AMD hosts the IOMMU table is IVRS, not DMAR'],
    })
  }
}
