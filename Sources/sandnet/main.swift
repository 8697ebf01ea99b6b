import ArgumentParser
SandnetCommand.runAsCLI()
