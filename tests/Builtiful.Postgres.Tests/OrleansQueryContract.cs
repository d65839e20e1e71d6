using System.Data;
using System.Text.RegularExpressions;
using Npgsql;

namespace Builtiful.Postgres.Tests;

/// <summary>
/// What the Orleans 10.4.2 ADO.NET providers send to and read from each stored query, taken from the providers'
/// own code: the parameters (with the DbType the provider gives them) and the result columns they read by name.
/// </summary>
internal static partial class OrleansQueryContract
{
    private static readonly string[] MembershipColumns =
        ["DeploymentId", "Address", "Port", "Generation", "SiloName", "HostName", "Status", "ProxyPort", "SuspectTimes", "StartTime", "IAmAliveTime", "Version"];

    private static readonly string[] ReminderColumns = ["GrainId", "ReminderName", "StartTime", "Period", "Version"];

    private static readonly string[] GrainKey =
        ["GrainIdHash", "GrainIdN0", "GrainIdN1", "GrainTypeHash", "GrainTypeString", "GrainIdExtensionString", "ServiceId"];

    /// <summary>Query key, the parameters the provider sends, and the columns it reads (null when it reads none by name).</summary>
    public static readonly IReadOnlyDictionary<string, (string[] Parameters, string[]? Columns)> Queries =
        new Dictionary<string, (string[], string[]?)>(StringComparer.Ordinal)
        {
            ["InsertMembershipVersionKey"] = (["DeploymentId"], null),
            ["InsertMembershipKey"] = (["DeploymentId", "IAmAliveTime", "SiloName", "HostName", "Address", "Port", "Generation", "StartTime", "Status", "ProxyPort", "Version"], null),
            ["UpdateMembershipKey"] = (["DeploymentId", "Address", "Port", "Generation", "IAmAliveTime", "Status", "SuspectTimes", "Version"], null),
            ["UpdateIAmAlivetimeKey"] = (["DeploymentId", "Address", "Port", "Generation", "IAmAliveTime"], null),
            ["MembershipReadRowKey"] = (["DeploymentId", "Address", "Port", "Generation"], MembershipColumns),
            ["MembershipReadAllKey"] = (["DeploymentId"], MembershipColumns),
            ["GatewaysQueryKey"] = (["DeploymentId", "Status"], ["Address", "ProxyPort", "Generation"]),
            ["DeleteMembershipTableEntriesKey"] = (["DeploymentId"], null),
            ["CleanupDefunctSiloEntriesKey"] = (["DeploymentId", "IAmAliveTime"], null),
            ["CleanupDefunctSiloEntryKey"] = (["DeploymentId", "Address", "Port", "Generation", "SuspectTimes", "StartTime", "IAmAliveTime"], null),
            ["WriteToStorageKey"] = ([.. GrainKey, "GrainStateVersion", "PayloadBinary"], ["NewGrainStateVersion"]),
            ["ReadFromStorageKey"] = (GrainKey, ["PayloadBinary", "Version"]),
            ["ClearStorageKey"] = ([.. GrainKey, "GrainStateVersion"], null),
            ["UpsertReminderRowKey"] = (["ServiceId", "GrainHash", "GrainId", "ReminderName", "StartTime", "Period"], ["Version"]),
            ["ReadReminderRowsKey"] = (["ServiceId", "GrainId"], ReminderColumns),
            ["ReadReminderRowKey"] = (["ServiceId", "GrainId", "ReminderName"], ReminderColumns),
            ["ReadRangeRows1Key"] = (["ServiceId", "BeginHash", "EndHash"], ReminderColumns),
            ["ReadRangeRows2Key"] = (["ServiceId", "BeginHash", "EndHash"], ReminderColumns),
            ["DeleteReminderRowKey"] = (["ServiceId", "GrainId", "ReminderName", "Version"], null),
            ["DeleteReminderRowsKey"] = (["ServiceId"], null),
        };

    /// <summary>Queries whose result the provider reads as one row with one column, converted to bool (applied or not).</summary>
    public static readonly IReadOnlySet<string> SingleValueQueries = new HashSet<string>(StringComparer.Ordinal)
    {
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "DeleteReminderRowKey",
    };

    public static IEnumerable<string> Keys => Queries.Keys;

    /// <summary>A parameter shaped as the provider shapes it: same name, same DbType, a plausible value.</summary>
    public static NpgsqlParameter Parameter(string name) => name switch
    {
        "DeploymentId" or "ServiceId" or "SiloName" or "HostName" or "ReminderName" or "GrainTypeString"
            => new(name, DbType.String) { Value = $"contract-{name}" },
        "Address" => new(name, DbType.AnsiString) { Value = "127.0.0.1" },
        "GrainId" => new(name, DbType.AnsiString) { Value = "probe/contract" },
        "Port" or "Generation" or "Status" or "ProxyPort" or "Version" or "GrainHash" or "BeginHash" or "EndHash" or "GrainIdHash" or "GrainTypeHash" or "Period"
            => new(name, DbType.Int32) { Value = 3 },
        "GrainIdN0" or "GrainIdN1" => new(name, DbType.Int64) { Value = 42L },
        "StartTime" or "IAmAliveTime" => new(name, DbType.DateTime) { Value = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc) },
        "PayloadBinary" => new(name, DbType.Binary) { Value = new byte[] { 1, 2, 3 } },
        // The provider sends these as typed NULLs for keys without an extension, never-read state and no suspicions.
        "GrainIdExtensionString" or "SuspectTimes" => new(name, DbType.String) { Value = DBNull.Value },
        "GrainStateVersion" => new(name, DbType.Int32) { Value = DBNull.Value },
        _ => throw new ArgumentOutOfRangeException(name, name, "not a parameter the Orleans providers send"),
    };

    public static IReadOnlySet<string> ParametersUsedBy(string queryText)
        => ParameterName().Matches(queryText).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex(@"(?<![@\w])@([A-Za-z][A-Za-z0-9]*)")]
    private static partial Regex ParameterName();
}
