namespace Restante.Pop3;

/// <summary>What the session loop does after a command has written its reply.</summary>
public enum CommandOutcome
{
    Continue,
    Close,
    StartTls,
}
