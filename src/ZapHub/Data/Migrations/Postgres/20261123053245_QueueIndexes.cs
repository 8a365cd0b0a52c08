using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ZapHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class QueueIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Messages_LeaseOwner",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_Status_DueAt",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_GatewayEvents_ProcessedAt_Id",
                table: "GatewayEvents");

            migrationBuilder.CreateIndex(
                name: "IX_PendingReceipts_ProviderMessageId",
                table: "PendingReceipts",
                column: "ProviderMessageId");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_InFlight",
                table: "Messages",
                column: "SessionId",
                filter: "\"Status\" = 'Sending'");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_Leasable",
                table: "Messages",
                column: "DueAt",
                filter: "\"Status\" IN ('Queued', 'Scheduled', 'Held') AND \"LeaseOwner\" IS NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_LeaseOwner",
                table: "Messages",
                column: "LeaseOwner",
                filter: "\"LeaseOwner\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_ProviderMessageId",
                table: "Messages",
                column: "ProviderMessageId",
                filter: "\"ProviderMessageId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_GatewayEvents_Unprocessed",
                table: "GatewayEvents",
                column: "Id",
                filter: "\"ProcessedAt\" IS NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Events_Unsequenced",
                table: "Events",
                column: "Id",
                filter: "\"Sequence\" IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_PendingReceipts_ProviderMessageId",
                table: "PendingReceipts");

            migrationBuilder.DropIndex(
                name: "IX_Messages_InFlight",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_Leasable",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_LeaseOwner",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_ProviderMessageId",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_GatewayEvents_Unprocessed",
                table: "GatewayEvents");

            migrationBuilder.DropIndex(
                name: "IX_Events_Unsequenced",
                table: "Events");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_LeaseOwner",
                table: "Messages",
                column: "LeaseOwner");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_Status_DueAt",
                table: "Messages",
                columns: new[] { "Status", "DueAt" });

            migrationBuilder.CreateIndex(
                name: "IX_GatewayEvents_ProcessedAt_Id",
                table: "GatewayEvents",
                columns: new[] { "ProcessedAt", "Id" });
        }
    }
}
