import {Args, Command, loadHelpClass} from '../src/cli/oclif.js'
import {EXIT} from '../src/checks/outcome.js'

export default class Help extends Command {
  static override summary = 'Show help for vtd-check, or for one command'
  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help groups']
  static override strict = false
  static override args = {
    command: Args.string({description: 'the command to explain', required: false}),
  }

  async run(): Promise<void> {
    const {argv} = await this.parse(Help)
    const words = argv.map(String)
    if (words.length > 0 && !this.config.findCommand(words.join(':')) && !this.config.findCommand(words[0] ?? ''))
      this.error(`no command "${words.join(' ')}"`, {exit: EXIT.usage, suggestions: [`${this.config.bin} help`]})
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions).showHelp(words)
  }
}
