namespace Builtiful.Silo.Storage;

/// <summary>
/// The grain storage of a PostgreSQL cluster (<c>Storage:Provider</c>). Both keep the same sealed records in the same
/// <c>OrleansStorage</c> rows, so a cluster can move between them with a rolling restart.
/// </summary>
public enum PostgresStorageProvider
{
    /// <summary>The default: <see cref="PostgresGrainStorage"/>, fixed typed statements, batched by <see cref="PostgresStatementBatcher"/> on connections of its own.</summary>
    Builtiful,

    /// <summary>Orleans' ADO.NET provider under <see cref="EncryptedGrainStorage"/>: the fallback, and the baseline it is measured against.</summary>
    Orleans,
}
