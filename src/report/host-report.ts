/**
 * Everything `vtd-check report` draws, built from one host model: the check report, the explained
 * kernel groups as a picture, and the fault groups of the model's kernel log. Renderers stay pure;
 * this is where the replays run for them.
 */
import {assessHost} from '../checks/assess.js'
import type {PciNames} from '../decode/pci-ids.js'
import {LogParser} from '../decode/kernel-log/index.js'
import type {HostModel} from '../model/host.js'
import {FaultTriage} from '../replay/fault-triage.js'
import {triageContextOf} from '../replay/fault-context.js'
import {crossCheckGroups, isolatingSlots, replayGrouping, type GroupingOptions} from '../replay/grouping.js'
import {hostGroupingOptions} from '../replay/host-grouping.js'
import {buildCheckReport, type CheckReport} from './check.js'
import {faultsToJson, type FaultsJson} from './faults.js'
import {groupList, memberView} from './group-list.js'
import {groupingReport} from './groups.js'
import {topologyPicture, type TopologyPicture} from './topology-picture.js'

export interface HostReport {
  check: CheckReport
  picture: TopologyPicture
  faults: FaultsJson
}

export function hostReport(model: HostModel, names: PciNames): HostReport {
  const check = buildCheckReport(assessHost(model, {}))
  const topology = model.topology
  const cmdline = model.host.platform.cmdline.ok ? model.host.platform.cmdline.value : undefined
  const kernelVersion = model.kernel?.release
  const options: GroupingOptions = {...(kernelVersion ? {kernelVersion} : {}), ...(cmdline ? {cmdline} : {}), assumeKernelEnablesAcs: true, ...hostGroupingOptions(model)}
  const prediction = replayGrouping(topology, options)
  const list = groupList(topology, names, model.topologySource, topology.source === 'sysfs' ? model.kernelGroups : undefined)
  const log = model.log.readable ? model.log.lines.join('\n') : undefined
  const crossCheck = list.groups.length > 0 ? crossCheckGroups(topology, prediction, {cmdline, kernelLog: log, kernelVersion}) : undefined
  const grouping = groupingReport({
    topology,
    prediction,
    list,
    mode: list.groups.length > 0 ? 'kernel' : 'predicted',
    source: model.topologySource,
    crossCheck,
    slots: isolatingSlots(topology, options),
    names,
  })

  const {context, notes} = triageContextOf(model)
  const triage = new FaultTriage({...context, source: model.log.origin})
  const parser = new LogParser()
  if (log !== undefined) parser.pushText(`${log}\n`, (record) => triage.add(record))
  for (const record of parser.end()) triage.add(record)
  const faults = faultsToJson(triage.finish(parser.lines), {origin: model.root === '/' ? 'dmesg' : 'snapshot', path: model.log.origin, lines: parser.lines}, notes)
  return {check, picture: topologyPicture(topology, grouping, (bdf) => memberView(topology, names, bdf).name), faults}
}
