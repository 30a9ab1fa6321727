namespace Restante.Tests.Infrastructure;

/// <summary>
/// Tests that measure wall-clock time or process memory: xunit runs this collection after the parallel ones, alone,
/// so the rest of the suite does not load the machine while they measure.
/// </summary>
[CollectionDefinition(nameof(TimingCollection), DisableParallelization = true)]
public sealed class TimingCollection;
