using System.ComponentModel;
using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Restante.Tests.Storage;

/// <summary>
/// A fact of <see cref="MailStoreContract"/>. Each derived suite runs it; a suite whose store cannot
/// run here (no PostgreSQL) carries <see cref="ContractSkipAttribute"/>, and the runner reports its
/// facts as skipped with the reason instead of failing them.
/// </summary>
[XunitTestCaseDiscoverer("Restante.Tests.Storage.ContractFactDiscoverer", "Restante.Tests")]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class ContractFactAttribute : FactAttribute
{
}

/// <summary>Names a static string property whose non-null value is why the suite cannot run here.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ContractSkipAttribute(Type type, string property) : Attribute
{
    public string? Reason => (string?)type.GetProperty(property, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null);
}

public sealed class ContractFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var suite = testMethod.TestClass.Class.ToRuntimeType();
        var reason = suite?.GetCustomAttribute<ContractSkipAttribute>()?.Reason;
        yield return new ContractTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
            discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, reason);
    }
}

public sealed class ContractTestCase : XunitTestCase
{
    private string? _suiteSkipReason;

    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public ContractTestCase()
    {
    }

    public ContractTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod method, string? suiteSkipReason)
        : base(sink, display, options, method)
    {
        _suiteSkipReason = suiteSkipReason;
    }

    protected override string GetSkipReason(IAttributeInfo factAttribute) => _suiteSkipReason ?? base.GetSkipReason(factAttribute);

    public override void Serialize(IXunitSerializationInfo data)
    {
        base.Serialize(data);
        data.AddValue("SuiteSkipReason", _suiteSkipReason);
    }

    public override void Deserialize(IXunitSerializationInfo data)
    {
        _suiteSkipReason = data.GetValue<string?>("SuiteSkipReason");
        base.Deserialize(data);
    }
}
