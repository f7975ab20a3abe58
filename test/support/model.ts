/** The host model of a HostFs (memfs host or snapshot), built the way the commands build it. */
import {collectDebugfs} from '../../src/collect/debugfs.js'
import {collectHost, collectNothing} from '../../src/collect/index.js'
import type {HostFs, Read} from '../../src/host/fs.js'
import {readKernelLog} from '../../src/host/kernel-log.js'
import {buildHostModel, type HostModel} from '../../src/model/host.js'

const NO_LOG: Read<string> = {ok: false, reason: 'absent', path: 'dmesg', message: 'no kernel log in this test'}

/** Synchronous: the given log text (or none), debugfs when readable. */
export function modelOf(fs: HostFs, log: Read<string> = NO_LOG): HostModel {
  const debugfs = collectDebugfs(fs)
  return buildHostModel({collected: collectHost(fs), log, ...(debugfs ? {debugfs} : {})})
}

/** With the host's kernel log read as the commands read it (a snapshot's dmesg.txt). */
export async function modelAt(fs: HostFs): Promise<HostModel> {
  return modelOf(fs, await readKernelLog(fs))
}

/**
 * The host model `vtd-check faults` builds from host evidence alone: an lspci listing given as
 * --lspci-dump (read as a dump: hex, or its text when it has none; collectNothing names the dump,
 * as the command does without --root), and the kernel release (/proc/sys/kernel/osrelease) and
 * /proc/cmdline as a --root snapshot would hold them. No kernel log: faults reads that itself.
 */
export function evidenceModel(evidence: {lspci?: string; release?: string; cmdline?: string}, name = 'host'): HostModel {
  const dumpPath = `${name}.lspci`
  const nothing = collectNothing(evidence.lspci === undefined ? name : dumpPath)
  const present = (path: string, value: string) => ({ok: true as const, path, value: `${value}\n`})
  const collected = {...nothing, platform: {
    ...nothing.platform,
    ...(evidence.release === undefined ? {} : {kernelRelease: present('/proc/sys/kernel/osrelease', evidence.release)}),
    ...(evidence.cmdline === undefined ? {} : {cmdline: present('/proc/cmdline', evidence.cmdline)}),
  }}
  return buildHostModel({
    collected, log: {ok: false, reason: 'absent', path: 'dmesg', message: 'the kernel log was not read'},
    ...(evidence.lspci === undefined ? {} : {pci: {path: dumpPath, text: evidence.lspci, format: 'dump' as const}}),
  })
}
