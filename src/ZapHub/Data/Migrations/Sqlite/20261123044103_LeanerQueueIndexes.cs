using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ZapHub.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class LeanerQueueIndexes : Migration
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

            migrationBuilder.CreateIndex(
                name: "IX_PendingReceipts_ProviderMessageId",
                table: "PendingReceipts",
                column: "ProviderMessageId");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_LeaseOwner",
                table: "Messages",
                column: "LeaseOwner",
                filter: "\"LeaseOwner\" IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_PendingReceipts_ProviderMessageId",
                table: "PendingReceipts");

            migrationBuilder.DropIndex(
                name: "IX_Messages_LeaseOwner",
                table: "Messages");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_LeaseOwner",
                table: "Messages",
                column: "LeaseOwner");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_Status_DueAt",
                table: "Messages",
                columns: new[] { "Status", "DueAt" });
        }
    }
}
