namespace Builtiful.Decisions.Tests;
public sealed class AdmissionDebugTests
{
    [Fact]
    public void Debug() => AdmissionPropertyTests.Replay(2, [(4, 34, 2), (10, 32, 4), (2, 0, 5), (2, 8, 0)]);
}
