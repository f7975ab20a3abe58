/** The host model of a HostFs (memfs host or snapshot), built the way the commands build it. */
import {collectDebugfs} from '../../src/collect/debugfs.js'
import {collectHost} from '../../src/collect/index.js'
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
