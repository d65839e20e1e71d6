using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Builtiful.Hosting;

/// <summary>The cluster's PostgreSQL database, when <c>ConnectionStrings:Builtiful</c> names one.</summary>
public static class PostgresDatabase
{
    /// <summary>The ADO.NET invariant the Orleans providers use to pick their PostgreSQL queries.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>The configuration key that names the database.</summary>
    public const string ConnectionStringKey = "ConnectionStrings:Builtiful";

    public static string? ConnectionString(IConfiguration configuration) =>
        configuration?.GetConnectionString("Builtiful") is { Length: > 0 } connectionString ? connectionString : null;

    /// <summary>One pool shared by clustering, storage and reminders, disposed with the host.</summary>
    public static IServiceCollection AddPostgresDataSource(this IServiceCollection services, string connectionString)
    {
        services.TryAddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        return services;
    }
}
