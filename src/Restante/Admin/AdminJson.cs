using System.Text.Json.Serialization;

namespace Restante.Admin;

/// <summary>
/// The control socket's JSON, generated at build time (no reflection, so a trimmed single-file build
/// keeps working). Names are camelCase; null fields are left out. A request with a field this
/// server does not know is refused rather than half understood (<see cref="AdminRequest"/>); a
/// reply may grow fields an older client skips.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AdminRequest))]
[JsonSerializable(typeof(AdminReply))]
internal sealed partial class AdminJson : JsonSerializerContext;
