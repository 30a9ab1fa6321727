using System.CommandLine;
using Restante.Cli;

var root = new RootCommand("Restante — a POP3 server (RFC 1939) over Maildir");
root.Subcommands.Add(ServeCommand.Create());
return await root.Parse(args).InvokeAsync();
