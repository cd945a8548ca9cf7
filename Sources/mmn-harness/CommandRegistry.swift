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
}
