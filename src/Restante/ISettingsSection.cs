using System.Diagnostics.CodeAnalysis;

namespace Restante;

/// <summary>
/// An options class whose public properties are settings: `restante config check` lists them and a
/// reload compares them (Hosting.RestanteSettings.Flatten). The annotation tells the trimmer to keep
/// those properties on every implementing type, so reading them by reflection still works in a
/// trimmed or Native AOT `restante` (without it the list came out empty and a reload saw no change).
/// </summary>
[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)]
public interface ISettingsSection;
