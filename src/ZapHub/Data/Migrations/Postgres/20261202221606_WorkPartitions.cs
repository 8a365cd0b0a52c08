using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ZapHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class WorkPartitions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_GatewayEvents_Unprocessed",
                table: "GatewayEvents");

            migrationBuilder.DropIndex(
                name: "IX_Events_Sequence",
                table: "Events");

            migrationBuilder.DropIndex(
                name: "IX_Events_Unsequenced",
                table: "Events");

            migrationBuilder.AddColumn<bool>(
                name: "Draining",
                table: "Gateways",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<string>(
                name: "UnreachableNote",
                table: "Gateways",
                type: "character varying(1000)",
                maxLength: 1000,
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "UnreachableSince",
                table: "Gateways",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<short>(
                name: "Partition",
                table: "GatewayEvents",
                type: "smallint",
                nullable: false,
                defaultValue: (short)0);

            migrationBuilder.AddColumn<short>(
                name: "Partition",
                table: "Events",
                type: "smallint",
                nullable: false,
                defaultValue: (short)0);

            // Rows already stored get the partition WorkPartitions.Of gives their id: its last hexadecimal digit.
            migrationBuilder.Sql("UPDATE \"GatewayEvents\" SET \"Partition\" = position(right(\"SessionId\"::text, 1) in '0123456789abcdef') - 1");
            migrationBuilder.Sql("UPDATE \"Events\" SET \"Partition\" = position(right(\"TenantId\"::text, 1) in '0123456789abcdef') - 1");

            migrationBuilder.CreateTable(
                name: "WorkLeases",
                columns: table => new
                {
                    Role = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Partition = table.Column<short>(type: "smallint", nullable: false),
                    Holder = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    Until = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_WorkLeases", x => new { x.Role, x.Partition });
                });

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_TenantList",
                table: "Sessions",
                columns: new[] { "TenantId", "IsPrimary", "CreatedAt", "Id" },
                descending: new[] { false, true, false, false });

            migrationBuilder.CreateIndex(
                name: "IX_GatewayEvents_Unprocessed",
                table: "GatewayEvents",
                columns: new[] { "Partition", "Id" },
                filter: "\"ProcessedAt\" IS NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Events_PartitionSequence",
                table: "Events",
                columns: new[] { "Partition", "Sequence" },
                filter: "\"Sequence\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Events_Unsequenced",
                table: "Events",
                columns: new[] { "Partition", "Id" },
                filter: "\"Sequence\" IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "WorkLeases");

            migrationBuilder.DropIndex(
                name: "IX_Sessions_TenantList",
                table: "Sessions");

            migrationBuilder.DropIndex(
                name: "IX_GatewayEvents_Unprocessed",
                table: "GatewayEvents");

            migrationBuilder.DropIndex(
                name: "IX_Events_PartitionSequence",
                table: "Events");

            migrationBuilder.DropIndex(
                name: "IX_Events_Unsequenced",
                table: "Events");

            migrationBuilder.DropColumn(
                name: "Draining",
                table: "Gateways");

            migrationBuilder.DropColumn(
                name: "UnreachableNote",
                table: "Gateways");

            migrationBuilder.DropColumn(
                name: "UnreachableSince",
                table: "Gateways");

            migrationBuilder.DropColumn(
                name: "Partition",
                table: "GatewayEvents");

            migrationBuilder.DropColumn(
                name: "Partition",
                table: "Events");

            migrationBuilder.CreateIndex(
                name: "IX_GatewayEvents_Unprocessed",
                table: "GatewayEvents",
                column: "Id",
                filter: "\"ProcessedAt\" IS NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Events_Sequence",
                table: "Events",
                column: "Sequence",
                filter: "\"Sequence\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Events_Unsequenced",
                table: "Events",
                column: "Id",
                filter: "\"Sequence\" IS NULL");
        }
    }
}
