/** The kernel's VT-d translation-structure dumps (debugfs, root only): the real tables the replay walks. */
import type {HostFs} from '../host/fs.js'

export const DEBUGFS_DIR = '/sys/kernel/debug/iommu/intel'

export interface CollectedDebugfs {
  translationStruct: string
  domainStructs: string[]
}

/** The dump texts, when dmar_translation_struct is readable (root, debugfs mounted). */
export function collectDebugfs(fs: HostFs): CollectedDebugfs | undefined {
  const translation = fs.readText(`${DEBUGFS_DIR}/dmar_translation_struct`)
  if (!translation.ok) return undefined
  const domainStructs: string[] = []
  const global = fs.readText(`${DEBUGFS_DIR}/domain_translation_struct`)
  if (global.ok) domainStructs.push(global.value)
  // ≈6.7+: per-device <BDF>/domain_translation_struct and <BDF>/<pasid>/domain_translation_struct.
  const entries = fs.listDir(DEBUGFS_DIR)
  for (const name of entries.ok ? entries.value : []) {
    if (!/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i.test(name)) continue
    const own = fs.readText(`${DEBUGFS_DIR}/${name}/domain_translation_struct`)
    if (own.ok) domainStructs.push(own.value)
    const sub = fs.listDir(`${DEBUGFS_DIR}/${name}`)
    for (const pasidDir of sub.ok ? sub.value : []) {
      const file = fs.readText(`${DEBUGFS_DIR}/${name}/${pasidDir}/domain_translation_struct`)
      if (file.ok) domainStructs.push(file.value)
    }
  }
  return {translationStruct: translation.value, domainStructs}
}
