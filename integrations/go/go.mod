module seatwise.example/seatwisepass

go 1.19
