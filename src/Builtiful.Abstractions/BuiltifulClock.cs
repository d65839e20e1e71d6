namespace Builtiful;

/// <summary>
/// Builtiful's grains and providers read time from the <see cref="TimeProvider"/> registered under this key,
/// so tests can move deadlines with a fake clock without also moving the Orleans runtime's own clock.
/// </summary>
public static class BuiltifulClock
{
    public const string Key = "builtiful";
}
