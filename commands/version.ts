import {JsonCommand, jsonFlag, TOOL} from '../src/cli/base.js'

export interface VersionJson {
  schemaVersion: 1
  tool: typeof TOOL
  version: string
  node: string
  platform: string
}

export default class Version extends JsonCommand {
  static override summary = 'Print the vtd-check version (same as --version)'
  static override description = 'JSON: {schemaVersion, tool, version, node, platform}.'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']
  static override flags = {
    json: jsonFlag('{schemaVersion, tool, version, node, platform}'),
  }

  async run(): Promise<VersionJson> {
    await this.parse(Version)
    if (!this.jsonEnabled()) this.log(this.config.userAgent)
    return {schemaVersion: 1, tool: TOOL, version: this.config.version, node: process.version, platform: `${this.config.platform}-${this.config.arch}`}
  }
}
