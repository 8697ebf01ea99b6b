import SandnetCLI

SandnetCommand.runAsCLI()
