import {Flags} from '../src/cli/oclif.js'
import {captureScript} from '../src/collect/capture-script.js'
import {BaseCommand, jsonFlag} from '../src/cli/base.js'
import {readKernelLog} from '../src/host/kernel-log.js'
import {UnsafeTarget} from '../src/host/safe-writer.js'
import {writeSnapshot} from '../src/host/snapshot.js'
import {SNAPSHOT_META_SCHEMA_VERSION, type SnapshotMeta} from '../src/host/layout.js'

export default class Capture extends BaseCommand {
  static override summary = 'Write a snapshot of this host that `--root DIR` reads exactly like the live host'
  static override description = `Copies the sysfs/procfs files vtd-check reads (PCI devices, IOMMU groups, remapping units, ACPI DMAR/IVRS, cmdline, CPU, interrupts), keeps symlinks as links, adds dmesg.txt and meta.json (with what could not be read). Read-only on the host. Run as root for full PCI config space, the DMAR table and the kernel log.

--script prints the same capture as a POSIX sh script (busybox compatible) for hosts without Node.js.`

  static override examples = [
    'sudo <%= config.bin %> capture --out ./snap-$(hostname)',
    '<%= config.bin %> check --root ./snap-myhost',
    '<%= config.bin %> capture --script > vtd-capture.sh && sudo sh vtd-capture.sh ./snap',
  ]

  static override flags = {
    json: jsonFlag("the snapshot's meta.json {schemaVersion, tool, toolVersion, captureMethod, capturedAt, hostname, uid, unreadable[]}; with --script {schemaVersion, tool, script}"),
    out: Flags.string({char: 'o', description: 'new or empty directory to write the snapshot into (created if missing; an existing snapshot is never merged into)', exclusive: ['script']}),
    script: Flags.boolean({description: 'print the equivalent POSIX sh capture script instead of capturing'}),
  }

  async run(): Promise<SnapshotMeta | {schemaVersion: typeof SNAPSHOT_META_SCHEMA_VERSION; tool: 'vtd-check'; script: string}> {
    const {flags} = await this.parse(Capture)
    if (flags.script) {
      const script = captureScript(this.config.version)
      if (!this.jsonEnabled()) this.print(script)
      return {schemaVersion: SNAPSHOT_META_SCHEMA_VERSION, tool: 'vtd-check', script}
    }
    if (!flags.out) this.error('capture needs --out DIR (or --script to print the sh capture script)', {exit: 2, suggestions: ['vtd-check capture --out ./snapshot']})
    const fs = this.hostFs(flags.root)
    const log = await readKernelLog(fs)
    let meta: SnapshotMeta
    try {
      meta = writeSnapshot(fs, log, flags.out, this.config.version)
    } catch (error) {
      if (error instanceof UnsafeTarget) this.error(`refusing to capture: ${error.message}`, {exit: 2, suggestions: [`vtd-check capture --out ${error.instead === 'beside' ? `${flags.out}-new` : './snapshot'}`]})
      throw error
    }
    if (!this.jsonEnabled()) {
      this.printLine(`wrote snapshot to ${flags.out}`)
      if (meta.unreadable.length > 0) this.printLine(`not readable without root (kept as unreadable in meta.json): ${meta.unreadable.join(', ')}`)
    }
    return meta
  }
}
