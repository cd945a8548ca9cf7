import ArgumentParser

/// The subcommands, in the order `--help` lists them.
enum CommandRegistry {
  static let subcommands: [ParsableCommand.Type] = [
    Info.self,
    Run.self,
    CompareCommand.self,
    ExploreCommand.self,
    ScenariosCommand.self,
    VariantsCommand.self,
    BenchCommand.self,
    StressCommand.self,
    PatchesCommand.self,
  ]

  /// A command's name and its subcommands', for `help NAME`.
  struct Node {
    let children: [String: Node]
  }

  static var names: [String: Node] { tree(subcommands) }

  private static func tree(_ commands: [ParsableCommand.Type]) -> [String: Node] {
    var out: [String: Node] = [:]
    for command in commands {
      let configuration = command.configuration
      let name = configuration.commandName ?? command._commandName
      out[name] = Node(children: tree(configuration.subcommands))
    }
    return out
  }
}
