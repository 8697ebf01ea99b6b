import ArgumentParser
SandnetCommand.main()
