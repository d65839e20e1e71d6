using Builtiful.Leases;

namespace Builtiful.Decisions.Tests;

/// <summary>Placeholder until the first decision tests land; proves the project builds against the grains assembly.</summary>
public sealed class DecisionsProjectTests
{
    [Fact]
    public void The_lease_phases_have_names()
    {
        Assert.Equal("booting", LeasePhase.Booting.ToWire());
    }
}
