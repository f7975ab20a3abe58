/**
 * What every command shares: `--root` (a captured snapshot instead of this host) and `--json`
 * (oclif's enableJsonFlag: only the JSON goes to stdout). Commands stay thin: parse flags,
 * call the library, render, set the exit code through `exitCodeFor`.
 */
import {Command, Flags} from '@oclif/core'
import {loadPciNames, type PciNames} from '../decode/pci-ids.js'
import {RootedHostFs, type HostFs} from '../host/fs.js'
import {openRoot} from '../host/snapshot.js'

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    root: Flags.directory({
      description: 'read this snapshot directory (from `vtd-check capture`) instead of the live host',
      default: '/',
      exists: true,
      helpGroup: 'GLOBAL',
    }),
    'lspci-dump': Flags.file({
      description: 'take PCI devices from this `lspci -xxxx` (or -xxx / -x) hex dump instead of sysfs',
      exists: true,
      helpGroup: 'GLOBAL',
    }),
  }

  /** The host (root "/") or a snapshot directory, with the snapshot's unreadable list applied. */
  protected hostFs(root: string): HostFs {
    return openRoot(root)
  }

  /** Vendor/device names: the host's pci.ids, and for a snapshot also this machine's. */
  protected pciNames(fs: HostFs): PciNames {
    return loadPciNames(fs.root === '/' ? [fs] : [fs, new RootedHostFs('/')])
  }
}
