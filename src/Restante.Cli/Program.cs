using System.CommandLine;
using Restante.Cli;

var data = new Option<string>("--data")
{
    Description = "Data directory: the passwd file, the default Maildirs. Default: ./data",
    Recursive = true,
};
var root = CliRoot.Create("Restante — a POP3 server (RFC 1939) over Maildir or PostgreSQL");
root.Options.Add(data);
root.Subcommands.Add(ServeCommand.Create(data));
root.Subcommands.Add(UserCommands.Create(data));
root.Subcommands.Add(PwCommand.Create());
root.Subcommands.Add(CertCommand.Create(data));
root.Subcommands.Add(DeliverCommand.Create(data));
root.Subcommands.Add(DbCommand.Create());
root.Subcommands.Add(MigrateCommand.Create(data));
root.Subcommands.Add(ConfigCommand.Create(data));
foreach (var command in ControlCommands.Create(data)) root.Subcommands.Add(command);
root.Subcommands.Add(RetentionCommands.CreateRestore(data));
root.Subcommands.Add(RetentionCommands.CreatePurge(data));
root.Subcommands.Add(ImportUidlsCommand.Create(data));
return await root.Parse(args).InvokeAsync();
