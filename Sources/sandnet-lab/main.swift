import SandnetCLI

LabCommand.runAsCLI()
