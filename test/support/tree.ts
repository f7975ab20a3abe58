/** Compare two snapshot directories: same entries, same bytes, same link texts. */
import * as fs from 'node:fs'
import * as path from 'node:path'

export type TreeEntry = {kind: 'file'; bytes: string} | {kind: 'link'; target: string} | {kind: 'dir'}

export function readTree(root: string, ignore: (rel: string) => boolean = () => false): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>()
  const walk = (rel: string) => {
    const full = path.join(root, rel)
    const stat = fs.lstatSync(full)
    if (stat.isSymbolicLink()) out.set(rel, {kind: 'link', target: fs.readlinkSync(full)})
    else if (stat.isDirectory()) {
      if (rel !== '') out.set(rel, {kind: 'dir'})
      for (const name of fs.readdirSync(full).sort()) walk(rel === '' ? name : `${rel}/${name}`)
    } else if (!ignore(rel)) out.set(rel, {kind: 'file', bytes: fs.readFileSync(full).toString('base64')})
  }
  walk('')
  return out
}
