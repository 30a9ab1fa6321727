using Restante.Networking;

namespace Restante.Pop3.Quirks;

/// <summary>Client quirk profiles (section <c>Quirks</c>); see the README's "Client quirk profiles".</summary>
public sealed class QuirkOptions : ISettingsSection
{
    /// <summary>The answer to a bare AUTH for sessions no profile changes it for.</summary>
    public EmptyAuthReply EmptyAuth { get; set; } = EmptyAuthReply.List;

    public List<QuirkProfile> Profiles { get; set; } = [];

    public IEnumerable<string> Validate()
    {
        if (!Enum.IsDefined(EmptyAuth)) yield return "Quirks:EmptyAuth must be List or Error.";
        for (var i = 0; i < Profiles.Count; i++)
        {
            var profile = Profiles[i];
            var name = $"Quirks:Profiles:{i}" + (profile.Name.Length > 0 ? $" ({profile.Name})" : "");
            if (profile.Networks.Count == 0 && profile.Users.Count == 0)
                yield return $"{name} needs Networks or Users: a profile for everyone is a server setting.";
            foreach (var network in profile.Networks)
                if (!NetworkRange.TryParse(network, out _)) yield return $"{name}: '{network}' is not an address or CIDR range.";
            if (profile.EmptyAuth is { } reply && !Enum.IsDefined(reply)) yield return $"{name}: EmptyAuth must be List or Error.";
        }
    }
}
